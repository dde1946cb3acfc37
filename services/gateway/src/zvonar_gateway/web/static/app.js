/* The page's small behaviours: the selection survives the table's polling, the table is
   morphed in place (scroll, an open "..." menu, focus and action results stay), the row
   dialogs (clips, comment), charts are drawn. */
(function () {
  "use strict";
  var selected = new Set();
  window.zvonarSelectedCount = function () { return selected.size; };

  // The poll morphs the table (idiomorph): rows and cells are updated in place, so the
  // scroll position, focus and text selection stay; what the server cannot know stays too:
  // an open "..." menu and the result of an action shown at its row.
  if (window.Idiomorph) {
    Idiomorph.defaults.callbacks.beforeAttributeUpdated = function (attr, element) {
      if (attr === "open" && element.matches && element.matches("details.menu")) { return false; }
      return true;
    };
    Idiomorph.defaults.callbacks.beforeNodeMorphed = function (oldNode) {
      if (oldNode.classList && oldNode.classList.contains("row-result")) { return false; }
      return true;
    };
  }

  function reapply() {
    document.querySelectorAll("#table .row-check").forEach(function (box) {
      box.checked = selected.has(box.value);
    });
    var all = document.getElementById("select-all");
    var boxes = document.querySelectorAll("#table .row-check");
    if (all) {
      all.checked = boxes.length > 0 && Array.prototype.every.call(boxes, function (b) { return b.checked; });
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("row-check")) {
      if (target.checked) { selected.add(target.value); } else { selected.delete(target.value); }
      reapply();
    } else if (target.id === "select-all") {
      document.querySelectorAll("#table .row-check").forEach(function (box) {
        if (target.checked) { selected.add(box.value); } else { selected.delete(box.value); }
      });
      reapply();
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    // The filters changed: start again from page 1.
    if (elt && elt.id === "filters") {
      event.detail.parameters.page = "1";
      var field = document.getElementById("page-field");
      if (field) { field.value = "1"; }
    }
    // The poll sends the selection back so the server renders it checked too.
    if (elt && (elt.id === "table" || elt.id === "filters" || elt.id === "delete-selected")) {
      event.detail.parameters.ids = Array.from(selected);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "table") { reapply(); }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "delete-selected" && event.detail.successful) { selected.clear(); }
    // An action from a menu done: close the menu so polling goes on.
    var menu = elt && elt.closest ? elt.closest("details.menu") : null;
    if (menu) { menu.open = false; }
  });

  // A refused action says why where it was asked: at its row (or in the flash area).
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    var place = target && target.classList && target.classList.contains("row-result")
      ? target : document.getElementById("flash");
    if (place && event.detail.xhr) {
      place.innerHTML = event.detail.xhr.responseText;
    }
  });

  function openDialog(dialog, title) {
    dialog.querySelector(".dialog-title").textContent = title;
    if (!dialog.open) { dialog.showModal(); }
  }

  // "Прослушать записи": a dialog that plays every clip of the campaign.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".listen-action") : null;
    if (!button) { return; }
    var dialog = document.getElementById("listen-dialog");
    var menu = button.closest("details.menu");
    if (menu) { menu.open = false; }
    var body = dialog.querySelector(".dialog-body");
    body.textContent = dialog.dataset.loading;
    openDialog(dialog, button.dataset.title);
    htmx.ajax("GET", button.dataset.url, { target: body, source: body });
  });

  // "Комментарий": a dialog with a multi-line field; the result is shown at the row.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".comment-action") : null;
    if (!button) { return; }
    var dialog = document.getElementById("comment-dialog");
    var form = dialog.querySelector("form");
    var menu = button.closest("details.menu");
    if (menu) { menu.open = false; }
    form.dataset.url = button.dataset.url;
    form.dataset.id = button.dataset.id;
    form.elements.text.value = button.dataset.current || "";
    openDialog(dialog, button.dataset.title);
    form.elements.text.focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "comment-form") { return; }
    event.preventDefault();
    var target = document.getElementById("result-" + form.dataset.id) || document.getElementById("flash");
    htmx.ajax("POST", form.dataset.url, {
      target: target, source: target, values: { text: form.elements.text.value }
    });
    form.closest("dialog").close();
  });

  // A dialog's "Закрыть"/"Отмена" button, and closing stops its players.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("dialog .dialog-close") : null;
    if (button) { button.closest("dialog").close(); }
  });
  document.addEventListener("close", function (event) {
    if (event.target.tagName !== "DIALOG") { return; }
    event.target.querySelectorAll("audio").forEach(function (audio) { audio.pause(); });
  }, true);

  // A form that asks first (data-confirm), e.g. the key rotation: in the page's dialog
  // (app.js's last part), the browser's confirm() only where the page has none.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.confirm) { return; }
    if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
    event.preventDefault();
    if (window.zvonarAsk) {
      window.zvonarAsk(form.dataset.confirm, function () {
        form.dataset.confirmed = "1";
        form.requestSubmit();
      });
    } else if (window.confirm(form.dataset.confirm)) {
      form.dataset.confirmed = "1";
      form.requestSubmit();
    }
  });

  // The download form submits only the selected rows, the ones on other pages included.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk") { return; }
    if (selected.size === 0) {
      event.preventDefault();
      var flash = document.getElementById("flash");
      if (flash) { flash.innerHTML = '<p class="flash error" role="status"></p>'; flash.firstChild.textContent = form.dataset.empty; }
      return;
    }
    form.querySelectorAll("input.picked").forEach(function (el) { el.remove(); });
    selected.forEach(function (id) {
      if (!document.querySelector('#table .row-check[value="' + id + '"]')) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "ids"; input.value = id; input.className = "picked";
        form.appendChild(input);
      }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#table .row-check:checked").forEach(function (box) { selected.add(box.value); });
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (typeof Chart === "undefined") { return; }
      var spec = JSON.parse(canvas.dataset.chart);
      new Chart(canvas, spec);
    });
  });
})();

/* Issue 18 (form errors, empty states, filters in the address). */
(function () {
  "use strict";

  // An audio file over the server's limit is refused here, before a byte is uploaded.
  function audioTooLarge(input) {
    var limit = parseInt(input.dataset.maxBytes || "0", 10);
    var file = input.files && input.files[0];
    return limit > 0 && file && file.size > limit;
  }

  function showAudioError(input, on) {
    var box = document.getElementById("audio-size-error");
    if (!box) { return; }
    box.hidden = !on;
    box.textContent = on ? input.dataset.tooLarge : "";
    var name = input.parentNode ? input.parentNode.querySelector(".file-name") : null;
    var meta = document.querySelector('meta[name="file-words"]');
    if (on && name && meta) { name.textContent = meta.content.split("|")[1]; }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.id !== "audio-file") { return; }
    if (audioTooLarge(input)) {
      input.value = "";
      showAudioError(input, true);
    } else {
      showAudioError(input, false);
      // A newly chosen file replaces the one kept from the earlier try.
      var kept = document.getElementById("kept-audio");
      if (kept && input.files && input.files.length) { kept.remove(); }
    }
  });

  document.addEventListener("submit", function (event) {
    var input = event.target.querySelector ? event.target.querySelector("#audio-file") : null;
    if (input && audioTooLarge(input)) {
      event.preventDefault();
      input.value = "";
      showAudioError(input, true);
    }
  });

  // "Удалить" with no row selected says so instead of asking to confirm.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "delete-selected") { return; }
    var count = window.zvonarSelectedCount ? window.zvonarSelectedCount()
      : document.querySelectorAll("#table .row-check:checked").length;
    if (count > 0) { return; }
    var form = document.getElementById("bulk");
    event.preventDefault();
    var flash = document.getElementById("flash");
    if (flash && form) {
      flash.innerHTML = '<p class="flash error" role="status" id="nothing-selected"></p>';
      flash.firstChild.textContent = form.dataset.empty;
    }
  });

  // The moderation heading's count follows the queue.
  document.addEventListener("queue-count", function (event) {
    var count = document.getElementById("queue-count");
    if (count && event.detail && event.detail.value !== undefined) {
      count.textContent = String(event.detail.value);
    }
  });

  // The filters are in the address: a bookmark or a reload opens the same list.
  function filtersToAddress(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string" && value !== "" && !(key === "page" && value === "1")) {
        params.append(key, value);
      }
    });
    var query = params.toString();
    history.replaceState(history.state, "", location.pathname + (query ? "?" + query : ""));
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "filters" && event.detail.successful) { filtersToAddress(elt); }
  });
})();

/* File fields in the page's language: the browser's own button speaks the browser's
   language ("Choose File"), so it is hidden behind a button and a name of ours. */
(function () {
  "use strict";
  function enhance(input) {
    if (input.dataset.enhanced) { return; }
    var meta = document.querySelector('meta[name="file-words"]');
    if (!meta) { return; }
    var words = meta.content.split("|");
    input.dataset.enhanced = "1";
    input.classList.add("file-native");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "file-button";
    button.textContent = words[0];
    var name = document.createElement("span");
    name.className = "file-name";
    name.textContent = words[1];
    button.addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      name.textContent = input.files && input.files.length ? input.files[0].name : words[1];
    });
    input.insertAdjacentElement("afterend", name);
    input.insertAdjacentElement("afterend", button);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('input[type="file"]').forEach(enhance);
  });
})();

/* The expected cost of the base on the create form: asked for (POST /campaigns/quote)
   whenever the numbers, the message, IVR or recording change. A chosen file is sent once:
   the count or length the server gave for it is sent instead while it stays chosen. */
(function () {
  "use strict";
  var cache = { phonesFile: null, phonesCount: "", audioFile: null, audioDuration: "" };
  var timer = null;
  var asked = 0;

  function chosen(form, name) {
    var input = form.elements[name];
    return input && input.files && input.files.length ? input.files[0] : null;
  }

  function filled(form, name) {
    var field = form.elements[name];
    return Boolean(field && field.value && field.value.trim());
  }

  // Numbers and a message to price: else nothing is asked (nor sent) and the box says so.
  function priceable(form) {
    var base = filled(form, "phones_text") || chosen(form, "phones_file") || filled(form, "copy_of");
    var kind = form.querySelector('input[name="audio_kind"]:checked');
    var message = kind && kind.value === "file"
      ? chosen(form, "audio_file") || filled(form, "audio_file_id") || filled(form, "copy_audio")
      : filled(form, "tts_text");
    return Boolean(base && message);
  }

  function ask(form) {
    var box = document.getElementById("quote");
    if (!box) { return; }
    if (!priceable(form)) {
      asked++;  // an answer still on its way is no longer the form's
      box.removeAttribute("aria-busy");
      box.innerHTML = '<p class="hint" id="quote-waiting"></p>';
      box.firstChild.textContent = box.dataset.waiting;
      return;
    }
    var data = new FormData(form);
    var phones = chosen(form, "phones_file");
    var audio = chosen(form, "audio_file");
    if (phones && phones === cache.phonesFile && cache.phonesCount !== "") {
      data.delete("phones_file");
      data.set("phones_count", cache.phonesCount);
    }
    if (audio && audio === cache.audioFile && cache.audioDuration !== "") {
      data.delete("audio_file");
      data.set("audio_duration", cache.audioDuration);
    }
    var token = document.querySelector('meta[name="csrf-token"]');
    var mine = ++asked;
    box.setAttribute("aria-busy", "true");
    fetch("/campaigns/quote", {
      method: "POST", body: data, credentials: "same-origin",
      headers: token ? { "X-CSRF-Token": token.content } : {}
    }).then(function (response) {
      // A failed answer (the dialer busy, say) leaves the last figure; the next change asks again.
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (mine !== asked) { return; }  // a later question is on its way
      box.removeAttribute("aria-busy");
      if (html === null) { return; }
      box.innerHTML = html;
      box.removeAttribute("aria-busy");
      var answer = box.querySelector(".quote-box");
      if (!answer) { return; }
      if (data.has("phones_file") && phones) {
        cache.phonesFile = phones; cache.phonesCount = answer.dataset.numbers || "";
      }
      if (data.has("audio_file") && audio) {
        cache.audioFile = audio; cache.audioDuration = answer.dataset.duration || "";
      }
    }).catch(function () { box.removeAttribute("aria-busy"); });
  }

  function later(form, ms) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; ask(form); }, ms);
  }

  var typed = ["phones_text", "tts_text"];
  var picked = ["phones_file", "audio_file", "audio_kind", "ivr_kind", "record"];
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.id === "create-form" && typed.indexOf(event.target.name) >= 0) {
      later(form, 700);
    }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.id === "create-form" && picked.indexOf(event.target.name) >= 0) {
      later(form, 50);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("create-form");
    // A copy or a form sent back with errors already has numbers and a message.
    if (form) { ask(form); }
  });
})();

/* "Остановить", "Удалить", a new key: asked first in a dialog of the page, in its language
   (the browser's own confirm() speaks the browser's language and cannot be styled). */
(function () {
  "use strict";
  var pending = null;

  function ask(question, yes) {
    var dialog = document.getElementById("confirm-dialog");
    pending = yes;
    document.getElementById("confirm-text").textContent = question;
    dialog.showModal();
    document.getElementById("confirm-yes").focus();
  }
  window.zvonarAsk = function (question, yes) {
    if (!document.getElementById("confirm-dialog")) { return false; }
    ask(question, yes);
    return true;
  };

  document.addEventListener("htmx:confirm", function (event) {
    if (event.defaultPrevented || !event.detail.question) { return; }
    if (!document.getElementById("confirm-dialog")) { return; }
    event.preventDefault();
    var detail = event.detail;
    var menu = detail.elt.closest ? detail.elt.closest("details.menu") : null;
    if (menu) { menu.open = false; }
    ask(detail.question, function () { detail.issueRequest(true); });
  });
  document.addEventListener("click", function (event) {
    if (event.target.id !== "confirm-yes" || !pending) { return; }
    var yes = pending;
    pending = null;
    document.getElementById("confirm-dialog").close();
    yes();
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "confirm-dialog") { pending = null; }
  }, true);
})();
