// Drag-and-drop uploads straight to S3: ask the app for a presigned POST, send the bytes to
// the bucket with progress, then ask the app to verify. Once all are done the file table is
// replaced by the list page's own, fetched again; refusals stay in the page's messages until
// dismissed (messages.js). The plain form is for browsers where this does not run.
(function () {
  "use strict";
  const zone = document.getElementById("dropzone");
  if (!zone || !window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;
  zone.hidden = false;
  const fallback = document.getElementById("fallback");
  if (fallback) fallback.hidden = true;
  const list = document.getElementById("uploads");
  const picker = document.getElementById("picker");
  const api = zone.dataset.api;
  const maxBytes = Number(zone.dataset.maxBytes);
  // Messages come translated from the page (data-text-*), in the page's language.
  const text = {
    uploaded: zone.dataset.textUploaded,
    notUploaded: zone.dataset.textNotUploaded,
    tooLarge: zone.dataset.textTooLarge,
    refused: zone.dataset.textRefused,
    network: zone.dataset.textNetwork,
    storage: zone.dataset.textStorage,
  };

  // A message like the server's (base.html's #message-template), kept until dismissed.
  function showMessage(message) {
    const area = document.getElementById("messages");
    const template = document.getElementById("message-template");
    if (!area || !template) return;
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".message-text").textContent = message;
    area.append(item);
  }

  // The list page again, and its file table in place of this one: one rendering of the
  // table (the template's), none of it rebuilt here.
  async function refreshFiles() {
    const response = await fetch(window.location.href, {
      credentials: "same-origin", headers: { Accept: "text/html" },
    });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("files");
    const current = document.getElementById("files");
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function row(file) {
    const item = document.createElement("li");
    item.className = "upload";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const state = document.createElement("span");
    state.className = "upload-state";
    item.append(name, bar, state);
    list.append(item);
    return {
      progress(percent) { bar.value = percent; state.textContent = percent + "%"; },
      done(label) { bar.value = 100; state.textContent = label; item.classList.add("ok"); },
      fail(reason) {
        state.textContent = text.notUploaded;
        item.classList.add("error");
        showMessage(file.name + " — " + reason);
      },
    };
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (error) { /* not JSON: use the status */ }
    // "detail" is the sentence for people where "error" is a code (the 503, RFC 6750 401s).
    if (!response.ok) throw new Error(data.detail || data.error || "HTTP " + response.status);
    return data;
  }

  function sendToBucket(upload, file, ui) {
    return new Promise(function (resolve, reject) {
      const form = new FormData();
      Object.entries(upload.fields).forEach(function ([key, value]) { form.append(key, value); });
      form.append("file", file);  // the file must be the last field of a POST policy upload
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) ui.progress(Math.round((event.loaded / event.total) * 100));
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(text.storage + " (HTTP " + xhr.status + ")"));
      });
      xhr.addEventListener("error", function () { reject(new Error(text.network)); });
      xhr.send(form);
    });
  }

  // Resolves to whether the file is on the list now (ready, refused or pending).
  async function uploadOne(file) {
    const ui = row(file);
    if (file.size > maxBytes) { ui.fail(text.tooLarge); return false; }
    let listed = false;
    try {
      const started = await postJSON(api, {
        name: file.name, size: file.size, content_type: file.type || "application/octet-stream",
      });
      listed = true;
      await sendToBucket(started.upload, file, ui);
      const completed = await postJSON(started.file.complete_url);
      if (completed.file.status === "ready") ui.done(text.uploaded);
      else ui.fail(text.refused + " " + completed.file.reject_reason);
    } catch (error) {
      ui.fail(error.message);
    }
    return listed;
  }

  async function uploadAll(files) {
    // The rows of earlier drops go; their refusals stay in the messages until dismissed.
    list.querySelectorAll(".upload.ok, .upload.error").forEach(function (item) { item.remove(); });
    const listed = await Promise.all(Array.from(files).map(uploadOne));
    if (!listed.some(Boolean)) return;
    try {
      await refreshFiles();
    } catch (error) {
      showMessage(text.network);
    }
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) uploadAll(event.dataTransfer.files);
  });
  picker.addEventListener("change", function () { uploadAll(picker.files); picker.value = ""; });
})();
