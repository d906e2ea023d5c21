"""The local AWS stack: moto's server on loopback, provisioned and persisted under var/."""
