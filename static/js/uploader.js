// Drag-and-drop uploads straight to S3: ask the app for a presigned POST, send the bytes to
// the bucket with progress, then ask the app to verify. The page reloads when all are done.
(function () {
  "use strict";
  const zone = document.getElementById("dropzone");
  if (!zone || !window.FormData || !window.XMLHttpRequest) return;
  zone.hidden = false;
  const list = document.getElementById("uploads");
  const picker = document.getElementById("picker");
  const api = zone.dataset.api;
  const maxBytes = Number(zone.dataset.maxBytes);
  // Messages come translated from the page (data-text-*), in the page's language.
  const text = {
    uploaded: zone.dataset.textUploaded,
    tooLarge: zone.dataset.textTooLarge,
    refused: zone.dataset.textRefused,
    network: zone.dataset.textNetwork,
    storage: zone.dataset.textStorage,
  };

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
      done(text) { bar.value = 100; state.textContent = text; item.classList.add("ok"); },
      fail(text) { state.textContent = text; item.classList.add("error"); },
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
    if (!response.ok) throw new Error(data.error || data.detail || "HTTP " + response.status);
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

  async function uploadOne(file) {
    const ui = row(file);
    if (file.size > maxBytes) { ui.fail(text.tooLarge); return false; }
    try {
      const started = await postJSON(api, {
        name: file.name, size: file.size, content_type: file.type || "application/octet-stream",
      });
      await sendToBucket(started.upload, file, ui);
      const completed = await postJSON(started.file.complete_url);
      if (completed.file.status === "ready") { ui.done(text.uploaded); return true; }
      ui.fail(text.refused + " " + completed.file.reject_reason);
    } catch (error) {
      ui.fail(error.message);
    }
    return false;
  }

  async function uploadAll(files) {
    const results = await Promise.all(Array.from(files).map(uploadOne));
    if (results.some(Boolean)) setTimeout(function () { window.location.reload(); }, 600);
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
