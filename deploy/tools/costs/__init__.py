"""What each deploy target costs a month at a given traffic: ``manage.py costmodel``.

``prices.json`` holds the dated list prices, ``prices`` loads and checks them, ``model`` turns
measured per-request cost into monthly cost and break-even volumes, ``report`` writes the table
and the chart.
"""
