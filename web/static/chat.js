/* Progressive enhancement for the chat page: sends questions to /api/chat as JSON
   and renders replies with DOM APIs only (textContent, never innerHTML). */
(function () {
  'use strict';

  var form = document.getElementById('chat-form');
  var box = document.getElementById('message');
  var conversation = document.getElementById('conversation');
  if (!form || !box || !conversation) { return; }

  var counter = document.getElementById('counter');
  var alertBox = document.getElementById('chat-error');
  var sessionInput = form.querySelector('input[name="session_id"]');
  var sendButton = form.querySelector('button[type="submit"]');
  var maxLength = box.maxLength > 0 ? box.maxLength : 1000;
  var sending = false;

  var MSG_TOO_MANY = 'Too many questions; please wait a moment.';
  var MSG_UNREACHABLE = 'The service is not reachable right now. Please try again.';
  var SAFE_URL = /^(https?:\/\/|\/(?!\/))/i;

  var hints = document.querySelectorAll('.js-hint');
  for (var i = 0; i < hints.length; i++) { hints[i].hidden = false; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function updateCounter() {
    if (counter) { counter.textContent = box.value.length + ' / ' + maxLength; }
  }

  function showError(text) {
    if (!alertBox) { return; }
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  function clearError() {
    if (!alertBox) { return; }
    alertBox.textContent = '';
    alertBox.hidden = true;
  }

  function setSending(state) {
    sending = state;
    if (sendButton) { sendButton.disabled = state; }
    form.setAttribute('aria-busy', state ? 'true' : 'false');
  }

  function renderQuestion(text) {
    var wrap = el('div', 'question');
    wrap.appendChild(el('span', 'visually-hidden', 'You asked:'));
    wrap.appendChild(el('p', null, text));
    return wrap;
  }

  function renderReply(reply) {
    var status = typeof reply.status === 'string' ? reply.status : 'unknown';
    var wrap = el('div', 'reply reply--' + status.replace(/[^a-z_]/gi, ''));
    wrap.appendChild(el('span', 'visually-hidden', 'Answer:'));

    if (reply.evidence_level) {
      wrap.appendChild(el('p', 'badge', 'Evidence level: ' + reply.evidence_level));
    }

    var disclaimer = typeof reply.disclaimer === 'string' ? reply.disclaimer.trim() : '';
    var answer = el('div', 'answer');
    var hasCitations = Array.isArray(reply.citations) && reply.citations.length > 0;
    String(reply.answer || '').split(/\r?\n[ \t]*\r?\n/).forEach(function (para) {
      var text = para.trim();
      // The badge, the sources list and the disclaimer below show these lines already.
      if (!text || text === disclaimer) { return; }
      if (reply.evidence_level && text.indexOf('Evidence level: ') === 0) { return; }
      if (hasCitations && text.indexOf('Source: ') === 0) { return; }
      if (text.indexOf('> ') === 0) {
        answer.appendChild(el('blockquote', null, text.replace(/^> ?/gm, '')));
      } else {
        answer.appendChild(el('p', null, text));
      }
    });
    wrap.appendChild(answer);

    var citations = Array.isArray(reply.citations) ? reply.citations : [];
    if (citations.length) {
      var cites = el('div', 'citations');
      cites.appendChild(el('p', 'citations-title', 'Sources'));
      var list = el('ul');
      citations.forEach(function (c) {
        var item = el('li');
        var url = typeof c.url === 'string' ? c.url : '';
        if (url && SAFE_URL.test(url)) {
          var link = el('a', null, c.title || url);
          link.href = url;
          item.appendChild(link);
        } else {
          item.appendChild(document.createTextNode(String(c.title || '')));
        }
        if (c.section) { item.appendChild(document.createTextNode(' — ' + c.section)); }
        list.appendChild(item);
      });
      cites.appendChild(list);
      wrap.appendChild(cites);
    }

    if (disclaimer) { wrap.appendChild(el('p', 'disclaimer', disclaimer)); }

    var suggestions = Array.isArray(reply.suggestions) ? reply.suggestions : [];
    if (suggestions.length) {
      var sugg = el('div', 'suggestions');
      sugg.appendChild(el('p', 'suggestions-title', 'You could ask:'));
      var chips = el('ul', 'chips');
      suggestions.forEach(function (s) {
        var li = el('li');
        var chip = el('button', 'chip', s);
        chip.type = 'submit';
        chip.name = 'message';
        chip.value = String(s);
        chip.setAttribute('form', 'chat-form');
        chip.formNoValidate = true;
        li.appendChild(chip);
        chips.appendChild(li);
      });
      sugg.appendChild(chips);
      wrap.appendChild(sugg);
    }
    return wrap;
  }

  async function errorMessage(response) {
    if (response.status === 429) { return MSG_TOO_MANY; }
    if (response.status === 400 || response.status === 422) {
      try {
        var body = await response.json();
        var detail = body && body.detail;
        if (typeof detail === 'string' && detail) { return detail; }
        if (Array.isArray(detail)) {
          var msgs = detail.map(function (d) { return d && d.msg ? String(d.msg) : ''; })
            .filter(Boolean);
          if (msgs.length) { return msgs.join(' '); }
        }
      } catch (e) { /* fall through */ }
      return 'Please check your question and try again.';
    }
    return MSG_UNREACHABLE;
  }

  function scrollTo(node) {
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    node.scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'nearest' });
  }

  async function send(rawText, fromBox) {
    if (sending) { return; }
    var text = String(rawText || '').trim();
    if (!text) {
      showError('Please type a question.');
      box.focus();
      return;
    }
    if (text.length > maxLength) {
      showError('Please keep your question under ' + maxLength + ' characters.');
      box.focus();
      return;
    }

    clearError();
    setSending(true);

    var item = el('li', 'exchange');
    item.appendChild(renderQuestion(text));
    var thinking = el('p', 'thinking', '…thinking');
    thinking.setAttribute('role', 'status');
    item.appendChild(thinking);
    conversation.appendChild(item);
    scrollTo(item);
    if (fromBox) {
      box.value = '';
      updateCounter();
    }

    try {
      var response = await fetch('/api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ message: text, session_id: (sessionInput && sessionInput.value) || null })
      });
      if (!response.ok) { throw new Error(await errorMessage(response)); }
      var reply = await response.json();
      if (!reply || typeof reply !== 'object') { throw new Error(MSG_UNREACHABLE); }

      if (sessionInput && reply.session_id) { sessionInput.value = String(reply.session_id); }
      var rendered = renderReply(reply);
      item.replaceChild(rendered, thinking);
      scrollTo(rendered);
    } catch (err) {
      conversation.removeChild(item);
      if (!box.value) {
        box.value = text;
        updateCounter();
      }
      var msg = err && err.message;
      // fetch() network failures surface as TypeError with a browser-specific message.
      showError(msg && !(err instanceof TypeError) ? msg : MSG_UNREACHABLE);
    } finally {
      setSending(false);
      box.focus({ preventScroll: true });
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    if (submitter && submitter.classList && submitter.classList.contains('chip')) {
      send(submitter.value, false);
    } else {
      send(box.value, true);
    }
  });

  // Suggestion chips live outside the form (form="chat-form"); handle them directly.
  document.addEventListener('click', function (event) {
    var chip = event.target && event.target.closest ? event.target.closest('button.chip') : null;
    if (!chip) { return; }
    event.preventDefault();
    send(chip.value || chip.textContent, false);
  });

  box.addEventListener('input', updateCounter);
  box.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey &&
        !event.metaKey && !event.isComposing) {
      event.preventDefault();
      send(box.value, true);
    }
  });

  updateCounter();
}());
