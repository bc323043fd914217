/* Progressive enhancement for the chat page (/) and the iframe page (/embed).
   Without this script the page is a plain form post to /chat. With it, questions go to
   /api/chat as JSON, a typing indicator shows while waiting, errors are explained with
   the crisis contacts the page carries, and each answer but a crisis or a clarifying
   question gets a feedback control. Text is always set with textContent; the only
   innerHTML is the server's `reply.html`, which bot/answer.py escapes server-side. */
(function () {
  'use strict';

  var form = document.getElementById('chat-form');
  var box = document.getElementById('message');
  var conversation = document.getElementById('conversation');
  if (!form || !box || !conversation) { return; }

  document.documentElement.classList.add('js');

  var log = document.getElementById('log');
  var counter = document.getElementById('counter');
  var limitNote = document.getElementById('limit-note');
  var alertBox = document.getElementById('chat-error');
  var alertText = document.getElementById('chat-error-text');
  // The locale's crisis contacts, rendered into the page by the server (hidden): an error
  // state shows them without a request, so they work offline too.
  var crisisHelp = document.getElementById('crisis-help');
  var typing = document.getElementById('typing');
  var live = document.getElementById('chat-live');
  var sessionInput = form.querySelector('input[name="session_id"]');
  var sendButton = form.querySelector('button.send');
  var maxLength = parseInt(form.getAttribute('data-max-length'), 10) ||
    parseInt(box.getAttribute('maxlength'), 10) || 1000;
  var WARN_AT = Math.floor(maxLength * 0.9);
  var TIMEOUT_MS = 30000;
  var sending = false;
  // What is on screen, for this tab (the chat page and the iframe apart): shown again
  // after a reload or a visit to another page, with the session it continues.
  var CONVERSATION_KEY = 'evidence-chat:' + location.pathname;
  var KEEP_EXCHANGES = 50;

  var MSG_DOWN = 'The assistant can\u2019t be reached right now. Please try again later.';
  var MSG_OFFLINE = 'You seem to be offline. Please check your connection and try again.';
  var MSG_SLOW = 'The assistant is taking too long to answer. Please try again in a moment.';
  var MSG_FORBIDDEN = 'This assistant is not enabled on this site.';
  var MSG_EMPTY = 'Please type a question first.';
  // A crisis message gets contacts first, a clarifying question is not an answer yet.
  var NO_FEEDBACK = { urgent: true, clarify: true };

  // The counter shows the limit instead of the browser silently cutting pasted text.
  box.removeAttribute('maxlength');
  // On a touch screen the keyboard's Enter adds a line (people expect it to) and the
  // Ask button sends: no "Enter sends" hint there.
  var TOUCH = !!(window.matchMedia && window.matchMedia('(hover: none) and (pointer: coarse)').matches);
  var hints = document.querySelectorAll('.js-hint');
  for (var i = 0; i < hints.length; i++) { hints[i].hidden = TOUCH; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  /* ---- The conversation kept for the tab -------------------------------------------- */

  // {session: id, exchanges: [{q, t, r, voted}]}: r is the reply as the API sent it.
  var saved = { session: '', exchanges: [] };

  function loadConversation() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(CONVERSATION_KEY) || 'null');
      if (data && typeof data === 'object' && Array.isArray(data.exchanges)) {
        saved.session = typeof data.session === 'string' ? data.session : '';
        saved.exchanges = data.exchanges.filter(function (x) {
          return x && typeof x.q === 'string' && x.r && typeof x.r === 'object';
        }).slice(-KEEP_EXCHANGES);
      }
    } catch (e) { /* unreadable: start afresh */ }
  }

  function saveConversation() {
    saved.exchanges = saved.exchanges.slice(-KEEP_EXCHANGES);
    try {
      window.sessionStorage.setItem(CONVERSATION_KEY, JSON.stringify(saved));
    } catch (e) { /* private mode or full: kept for this page only */ }
  }

  // Only what the page shows is kept (not the passages of the citations).
  function keptReply(reply) {
    return {
      status: reply.status, answer: reply.answer, html: reply.html,
      evidence_level: reply.evidence_level, disclaimer: reply.disclaimer,
      suggestions: reply.suggestions, answer_id: reply.answer_id,
      crisis_kind: reply.crisis_kind
    };
  }

  function stampText(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ''; }
    try {
      return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) { return d.toISOString().slice(0, 16).replace('T', ' '); }
  }

  // One question as shown: the text, and when it was asked.
  function exchangeItem(text, iso) {
    var item = el('li', 'exchange');
    var question = el('div', 'question');
    question.appendChild(el('span', 'visually-hidden', 'You asked:'));
    question.appendChild(el('p', null, text));
    item.appendChild(question);
    var when = stampText(iso);
    if (when) {
      var stamp = el('time', 'stamp', when);
      stamp.dateTime = iso;
      item.appendChild(stamp);
    }
    return item;
  }

  function tooLongMessage() {
    return 'Your question is too long. Please keep it under ' + maxLength + ' characters.';
  }

  /* ---- Character counter ------------------------------------------------------------ */

  var lastLimitState = '';
  function updateCounter() {
    var n = box.value.length;
    var state = n > maxLength ? 'over' : (n >= WARN_AT ? 'warn' : '');
    if (counter) {
      // Only near the limit: far from it, a number would only take room.
      counter.hidden = state === '';
      counter.textContent = n + ' / ' + maxLength;
      counter.classList.toggle('is-warn', state === 'warn');
      counter.classList.toggle('is-over', state === 'over');
    }
    if (limitNote) {
      limitNote.classList.toggle('is-warn', state === 'warn');
      limitNote.classList.toggle('is-over', state === 'over');
      if (state === 'over') {
        var extra = n - maxLength;
        limitNote.textContent = 'Too long: please remove ' + extra +
          (extra === 1 ? ' character.' : ' characters.');
      } else if (state === 'warn') {
        var left = maxLength - n;
        limitNote.textContent = left + (left === 1 ? ' character left.' : ' characters left.');
      } else {
        limitNote.textContent = '';
      }
    }
    if (state === 'over') {
      box.setAttribute('aria-invalid', 'true');
    } else {
      box.removeAttribute('aria-invalid');
    }
    if (sendButton) { sendButton.disabled = sending || state === 'over'; }
    fitBox();
    // Tell screen readers once when the limit gets close or is passed, not on every key.
    if (state !== lastLimitState) {
      if (state === 'over') { announce(tooLongMessage()); }
      else if (state === 'warn' && lastLimitState === '') {
        announce('You are near the ' + maxLength + ' character limit.');
      }
      lastLimitState = state;
    }
  }

  /* ---- The box grows with what is typed; the layout follows the visible screen ------ */

  // One line to start with, as many as the text needs up to the stylesheet's max-height
  // (four lines or a quarter of the screen), then it scrolls.
  function fitBox() {
    if (!box.getClientRects().length) { return; }
    box.style.height = 'auto';
    var cs = getComputedStyle(box);
    var borders = parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
    box.style.height = (box.scrollHeight + borders) + 'px';
  }

  // The part of the window the reader can see: with the on-screen keyboard open it is
  // the visualViewport, which shrinks where the page itself does not (Safari). --vvh is
  // its height (the iframe's panel takes it), --kb how much of the page the keyboard
  // covers (the pinned question box sits above it). Pinch zoom is left alone.
  var root = document.documentElement;
  function followViewport() {
    var vv = window.visualViewport;
    if (vv && vv.scale > 1.01) { return; }
    var height = vv ? vv.height : window.innerHeight;
    var covered = vv ? window.innerHeight - vv.height - vv.offsetTop : 0;
    root.style.setProperty('--vvh', Math.round(height) + 'px');
    root.style.setProperty('--kb', Math.max(0, Math.round(covered)) + 'px');
  }
  followViewport();
  if (window.visualViewport) {
    window.visualViewport.addEventListener('resize', followViewport);
    window.visualViewport.addEventListener('scroll', followViewport);
  }
  window.addEventListener('resize', function () { followViewport(); fitBox(); });

  /* ---- Status, errors, announcements ------------------------------------------------ */

  var announceTimer = null;
  function announce(text) {
    if (!live) { return; }
    live.textContent = '';
    if (announceTimer) { clearTimeout(announceTimer); }
    announceTimer = setTimeout(function () { live.textContent = text; }, 60);
  }

  // Whenever a message could not be answered, the crisis contacts show with the error:
  // the person may have written because they need help now (not for an empty box).
  // A failure stays until the next send; a problem with the text goes once it is edited.
  // An error the server rendered (the form's 429 or 503 page) stays like a failure.
  var errorSticky = !!(alertBox && !alertBox.hidden);
  function showError(text, contacts, sticky) {
    if (!alertBox) { return; }
    if (alertText) { alertText.textContent = text; } else { alertBox.textContent = text; }
    if (crisisHelp) { crisisHelp.hidden = contacts === false; }
    errorSticky = sticky !== false;
    alertBox.hidden = false;
  }

  function clearError() {
    if (!alertBox) { return; }
    errorSticky = false;
    if (alertText) { alertText.textContent = ''; } else { alertBox.textContent = ''; }
    if (crisisHelp) { crisisHelp.hidden = true; }
    alertBox.hidden = true;
  }

  function errorText() {
    return alertBox && !alertBox.hidden ? (alertText || alertBox).textContent : '';
  }

  function setTyping(on) {
    if (!typing) { return; }
    typing.textContent = '';
    if (on) {
      var dots = el('span', 'typing-dots');
      dots.setAttribute('aria-hidden', 'true');
      dots.appendChild(el('span'));
      dots.appendChild(el('span'));
      dots.appendChild(el('span'));
      typing.appendChild(dots);
      typing.appendChild(el('span', 'typing-text', 'Looking this up\u2026'));
    }
  }

  function setSending(state) {
    sending = state;
    form.setAttribute('aria-busy', state ? 'true' : 'false');
    updateCounter();
  }

  // `what`: "questions", or "ratings" for feedback (counted apart by the server).
  function retryMessage(header, what) {
    what = what || 'questions';
    var seconds = NaN;
    if (header) {
      seconds = /^\s*\d+\s*$/.test(header) ? parseInt(header, 10)
        : Math.ceil((Date.parse(header) - Date.now()) / 1000);
    }
    if (!isFinite(seconds) || seconds <= 0) {
      return 'Too many ' + what + ' right now; please wait a moment and try again.';
    }
    seconds = Math.min(seconds, 3600);
    return 'Too many ' + what + ' right now; please wait ' + seconds +
      (seconds === 1 ? ' second.' : ' seconds.');
  }

  async function readDetail(response) {
    try {
      var body = await response.json();
      var detail = body && body.detail;
      if (typeof detail === 'string') { return detail; }
      if (Array.isArray(detail)) {
        return detail.map(function (d) { return d && d.msg ? String(d.msg) : ''; })
          .filter(Boolean).join(' ');
      }
    } catch (e) { /* not JSON */ }
    return '';
  }

  async function errorFor(response, text) {
    var s = response.status;
    if (s === 429) { return retryMessage(response.headers.get('Retry-After')); }
    if (s === 403) { return MSG_FORBIDDEN; }
    if (s === 413) { return tooLongMessage(); }
    if (s === 400 || s === 422) {
      if (text.length > maxLength) { return tooLongMessage(); }
      var detail = (await readDetail(response)).replace(/^[\w.]+:\s*/, '');
      return 'We couldn\u2019t send that question' +
        (detail && detail.length < 200 ? ' (' + detail + ')' : '') +
        '. Please check it and try again.';
    }
    return MSG_DOWN;
  }

  /* ---- Rendering a reply ------------------------------------------------------------ */

  function statusOf(reply) {
    var s = typeof reply.status === 'string' ? reply.status.replace(/[^a-z_]/gi, '') : '';
    return s || 'unknown';
  }

  function makeBadge(level) {
    var badge = el('p', 'badge');
    badge.appendChild(el('span', 'badge-label', 'Evidence level:'));
    badge.appendChild(document.createTextNode(' '));
    badge.appendChild(el('span', 'badge-value', level));
    return badge;
  }

  // Links to the assessment pages open in a new tab, so the conversation stays open.
  function decorateLinks(scope) {
    var links = scope.querySelectorAll('.reply-body a[href]');
    for (var j = 0; j < links.length; j++) {
      var a = links[j];
      if (!/^https?:/i.test(a.getAttribute('href') || '') || a.target === '_blank') { continue; }
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.appendChild(el('span', 'visually-hidden', ' (opens in a new tab)'));
    }
  }

  // `kept`: the stored exchange this reply belongs to (its vote is remembered).
  function renderReply(reply, kept) {
    var status = statusOf(reply);
    var level = typeof reply.evidence_level === 'string' && reply.evidence_level
      ? reply.evidence_level : '';
    var wrap = el('div', 'reply reply--' + status + (level ? ' has-badge' : ''));
    wrap.setAttribute('data-status', status);
    if (reply.answer_id) { wrap.setAttribute('data-answer-id', String(reply.answer_id)); }
    wrap.appendChild(el('span', 'visually-hidden', 'Answer:'));

    var body = el('div', 'reply-body');
    if (typeof reply.html === 'string' && reply.html) {
      // `reply.html` is escaped server-side by bot/answer.py (every corpus and user
      // string); it is the ONLY value ever assigned to innerHTML.
      body.innerHTML = reply.html;
    } else {
      body.appendChild(el('p', 'plain', reply.answer || ''));
      if (reply.disclaimer) { body.appendChild(el('p', 'disclaimer', reply.disclaimer)); }
    }
    if (level) {
      // The badge replaces the reply's own "Evidence level:" line only when that line is
      // the single one and says the same (a reply citing several pages keeps them all).
      var lines = body.querySelectorAll('.evidence-level');
      if (lines.length === 1 &&
          lines[0].textContent.replace(/\s+/g, ' ').trim() === 'Evidence level: ' + level.trim()) {
        wrap.classList.add('hide-level');
      }
      // Crisis contacts stay first; the badge goes right after them, else on top.
      var crisis = body.querySelector(':scope > ul.crisis');
      body.insertBefore(makeBadge(level), crisis ? crisis.nextSibling : body.firstChild);
    }
    wrap.appendChild(body);

    var suggestions = Array.isArray(reply.suggestions) ? reply.suggestions : [];
    if (suggestions.length) {
      var clarify = status === 'clarify';
      var sugg = el('div', 'suggestions' + (clarify ? ' suggestions--options' : ''));
      // A clarify's chips answer its question: no title of their own.
      if (!clarify) { sugg.appendChild(el('p', 'suggestions-title', 'You could ask:')); }
      var chips = el('ul', 'chips');
      if (clarify) { chips.setAttribute('aria-label', 'Options'); }
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
      // A clarify's options go right under its question, above the disclaimer.
      var disclaimer = clarify ? body.querySelector(':scope > .disclaimer') : null;
      if (disclaimer) { body.insertBefore(sugg, disclaimer); } else { wrap.appendChild(sugg); }
    }
    enhanceReply(wrap, kept);
    return wrap;
  }

  function summary(reply) {
    var paras = String(reply.answer || '').split(/\r?\n[ \t]*\r?\n/);
    var first = '';
    for (var k = 0; k < paras.length; k++) {
      if (paras[k].trim()) { first = paras[k].trim(); break; }
    }
    var text = 'Answer: ' + first;
    if (reply.evidence_level) { text += ' Evidence level: ' + reply.evidence_level + '.'; }
    return text;
  }

  /* ---- Feedback (JavaScript only) --------------------------------------------------- */

  var feedbackCount = 0;

  // Thumbs as inline SVG (no emoji font needed), hidden from screen readers: the
  // accessible names are "Yes, helpful" and "No, not helpful".
  var THUMB_UP = 'M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3';
  var THUMB_DOWN = 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17';

  function feedbackButton(className, path, visible, hidden) {
    var b = el('button', 'feedback-btn ' + className);
    b.type = 'button';
    b.setAttribute('aria-pressed', 'false');
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'feedback-icon');
    var d = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    d.setAttribute('d', path);
    svg.appendChild(d);
    b.appendChild(svg);
    b.appendChild(el('span', null, visible));
    b.appendChild(el('span', 'visually-hidden', hidden));
    return b;
  }

  async function postFeedback(answerId, helpful, comment) {
    var response;
    try {
      response = await fetch('/api/feedback', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ answer_id: answerId, helpful: helpful, comment: comment || null })
      });
    } catch (e) {
      return 'Your feedback couldn\u2019t be sent right now. Please try again later.';
    }
    if (response.ok) { return ''; }
    if (response.status === 404) {
      return 'We couldn\u2019t find this answer any more, so the feedback was not saved. Thank you anyway.';
    }
    if (response.status === 429) {
      return retryMessage(response.headers.get('Retry-After'), 'ratings');
    }
    if (response.status === 422 || response.status === 413) {
      return 'Please keep your comment under 1000 characters.';
    }
    return 'Your feedback couldn\u2019t be sent right now. Please try again later.';
  }

  function buildFeedback(answerId, kept) {
    var n = ++feedbackCount;
    var helpful = null;
    var wrap = el('div', 'feedback');
    var row = el('div', 'feedback-row');
    row.setAttribute('role', 'group');
    var q = el('p', 'feedback-question', 'Was this helpful?');
    q.id = 'feedback-q-' + n;
    row.setAttribute('aria-labelledby', q.id);
    var yes = feedbackButton('feedback-yes', THUMB_UP, 'Yes', ', helpful');
    var no = feedbackButton('feedback-no', THUMB_DOWN, 'No', ', not helpful');
    row.appendChild(q);
    row.appendChild(yes);
    row.appendChild(no);
    wrap.appendChild(row);

    var more = el('div', 'feedback-more');
    more.hidden = true;
    var label = el('label', null, 'Anything you\u2019d like to add? (optional)');
    var comment = el('textarea');
    comment.id = 'feedback-comment-' + n;
    comment.rows = 2;
    comment.maxLength = 1000;
    label.htmlFor = comment.id;
    var send = el('button', 'feedback-send', 'Send comment');
    send.type = 'button';
    var status = el('p', 'feedback-status');
    status.setAttribute('role', 'status');
    more.appendChild(label);
    more.appendChild(comment);
    more.appendChild(send);
    wrap.appendChild(more);
    wrap.appendChild(status);

    // One click records the vote; the comment box is an optional second step.
    async function choose(value) {
      if (helpful !== null) { return; }
      helpful = value;
      yes.setAttribute('aria-pressed', value ? 'true' : 'false');
      no.setAttribute('aria-pressed', value ? 'false' : 'true');
      yes.disabled = true;
      no.disabled = true;
      status.classList.remove('is-error');
      status.textContent = 'Sending\u2026';
      var error = await postFeedback(answerId, value, null);
      if (error) {
        helpful = null;
        yes.disabled = false;
        no.disabled = false;
        status.classList.add('is-error');
        status.textContent = error;
        return;
      }
      status.textContent = 'Thank you for your feedback.';
      more.hidden = false;
      if (kept) { kept.voted = true; saveConversation(); }
    }
    yes.addEventListener('click', function () { choose(true); });
    no.addEventListener('click', function () { choose(false); });

    send.addEventListener('click', async function () {
      if (helpful === null || send.disabled) { return; }
      send.disabled = true;
      status.classList.remove('is-error');
      status.textContent = 'Sending\u2026';
      var error = await postFeedback(answerId, helpful, comment.value.trim().slice(0, 1000));
      if (!error) {
        wrap.textContent = '';
        var thanks = el('p', 'feedback-thanks', 'Thank you for your feedback and your comment.');
        thanks.setAttribute('role', 'status');
        thanks.tabIndex = -1;
        wrap.appendChild(thanks);
        thanks.focus();
        return;
      }
      send.disabled = false;
      status.classList.add('is-error');
      status.textContent = error;
    });
    return wrap;
  }

  function enhanceReply(replyEl, kept) {
    decorateLinks(replyEl);
    var id = replyEl.getAttribute('data-answer-id');
    if (id && !NO_FEEDBACK[replyEl.getAttribute('data-status')] &&
        !replyEl.querySelector('.feedback') && !(kept && kept.voted)) {
      replyEl.appendChild(buildFeedback(id, kept));
    }
  }

  /* ---- Long conversations: the full disclaimer once per screen --------------------- */

  // A reply whose disclaimer comes less than a screen after the last one shown in full
  // shows its first two lines and a button that opens the rest in place (the text stays
  // in the reply, and on paper in full). Crisis and support replies always show it all.
  var SHOW_FULL = 'Show the full disclaimer';
  var SHOW_LESS = 'Show less of the disclaimer';
  var disclaimerCount = 0;
  function compactDisclaimer(replyEl, screenPx) {
    var line = replyEl.querySelector(':scope > .reply-body > .disclaimer');
    if (!line || /\breply--(urgent|support)\b/.test(replyEl.className)) { return; }
    var full = conversation.querySelectorAll('.reply-body > .disclaimer:not(.disclaimer--short)');
    var prev = null;
    for (var i = full.length - 1; i >= 0; i--) {
      if (full[i] !== line && (full[i].compareDocumentPosition(line) & 4)) { prev = full[i]; break; }
    }
    if (!prev) { return; }
    var gap = line.getBoundingClientRect().top - prev.getBoundingClientRect().bottom;
    if (gap >= screenPx) { return; }
    line.classList.add('disclaimer--short');
    line.id = line.id || 'disclaimer-' + (++disclaimerCount);
    var toggle = el('button', 'disclaimer-toggle', SHOW_FULL);
    toggle.type = 'button';
    toggle.setAttribute('aria-expanded', 'false');
    toggle.setAttribute('aria-controls', line.id);
    toggle.addEventListener('click', function () {
      var opened = line.classList.toggle('disclaimer--short') === false;
      toggle.setAttribute('aria-expanded', opened ? 'true' : 'false');
      toggle.textContent = opened ? SHOW_LESS : SHOW_FULL;
    });
    line.parentNode.insertBefore(toggle, line.nextSibling);
  }

  // The screen of the chat page is the window; of the iframe, its scrolling log.
  function screenHeight() {
    var scrolls = log && getComputedStyle(log).overflowY !== 'visible';
    return scrolls ? log.clientHeight : window.innerHeight;
  }

  /* ---- Sending ---------------------------------------------------------------------- */

  function scrollToItem(node) {
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var behavior = reduce ? 'auto' : 'smooth';
    // Never scrollIntoView: inside an iframe it would scroll the host page too.
    if (log && log.scrollHeight > log.clientHeight + 1 &&
        getComputedStyle(log).overflowY !== 'visible') {
      var top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
      log.scrollTo({ top: Math.max(0, top - 8), behavior: behavior });
    } else {
      var y = node.getBoundingClientRect().top + window.pageYOffset - 12;
      window.scrollTo({ top: Math.max(0, y), behavior: behavior });
    }
  }

  async function send(rawText, fromBox) {
    if (sending) { return; }
    var text = String(rawText || '').trim();
    if (!text) {
      showError(MSG_EMPTY, false, false);
      box.focus();
      return;
    }
    if (text.length > maxLength) {
      showError(tooLongMessage(), true, false);
      box.focus();
      return;
    }

    clearError();
    setSending(true);

    var asked = new Date().toISOString();
    var item = exchangeItem(text, asked);
    conversation.appendChild(item);
    setTyping(true);
    scrollToItem(item);
    if (fromBox) {
      box.value = '';
      updateCounter();
    }

    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    try {
      var response;
      try {
        response = await fetch('/api/chat', {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            // Lets the audit log tell the chat page from the iframe embed.
            'X-Evidence-Channel': document.body.classList.contains('page-embed') ? 'embed' : 'page'
          },
          credentials: 'same-origin',
          signal: controller ? controller.signal : undefined,
          body: JSON.stringify({
            message: text,
            session_id: (sessionInput && sessionInput.value) || null
          })
        });
      } catch (netErr) {
        var aborted = netErr && netErr.name === 'AbortError';
        throw new Error(aborted ? MSG_SLOW : (navigator.onLine === false ? MSG_OFFLINE : MSG_DOWN));
      }
      if (!response.ok) { throw new Error(await errorFor(response, text)); }
      var reply;
      try { reply = await response.json(); } catch (e) { reply = null; }
      if (!reply || typeof reply !== 'object') { throw new Error(MSG_DOWN); }

      if (sessionInput && reply.session_id) { sessionInput.value = String(reply.session_id); }
      var kept = { q: text, t: asked, r: keptReply(reply), voted: false };
      saved.session = sessionInput ? sessionInput.value : '';
      saved.exchanges.push(kept);
      saveConversation();
      item.appendChild(renderReply(reply, kept));
      compactDisclaimer(item.querySelector('.reply'), screenHeight());
      showTools();
      setTyping(false);
      announce(summary(reply));
      scrollToItem(item);
    } catch (err) {
      setTyping(false);
      conversation.removeChild(item);
      if (!box.value) {
        box.value = text;
        updateCounter();
      }
      showError((err && err.message) || MSG_DOWN);
    } finally {
      if (timer) { clearTimeout(timer); }
      setSending(false);
      // Back to the question box when the focus was lost (the Ask button was disabled);
      // a focused chip keeps focus, so phones don't pop the keyboard over the answer.
      var act = document.activeElement;
      if (!act || act === document.body || act === sendButton || act === box) {
        box.focus({ preventScroll: true });
      }
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

  // Suggestion chips sit outside the form (form="chat-form"): handle their clicks here.
  conversation.addEventListener('click', function (event) {
    var chip = event.target && event.target.closest ? event.target.closest('button.chip') : null;
    if (!chip) { return; }
    event.preventDefault();
    send(chip.value || chip.textContent, false);
  });

  box.addEventListener('input', function () {
    updateCounter();
    if (alertBox && !alertBox.hidden && !errorSticky && box.value.trim()) { clearError(); }
  });
  box.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !TOUCH && !event.shiftKey && !event.altKey && !event.ctrlKey &&
        !event.metaKey && !event.isComposing) {
      event.preventDefault();
      if (box.value.length > maxLength) {
        showError(tooLongMessage(), true, false);
        return;
      }
      send(box.value, true);
    }
  });

  // Losing the connection is an error state too: say so, with the contacts, before the
  // person types a message that cannot be sent.
  window.addEventListener('offline', function () { showError(MSG_OFFLINE); });
  window.addEventListener('online', function () {
    if (errorText() === MSG_OFFLINE) { clearError(); }
  });
  if (navigator.onLine === false) { showError(MSG_OFFLINE); }

  // Replies rendered by the server (no-JS post, or a reload) get the same enhancements.
  var existing = conversation.querySelectorAll('.reply');
  for (var r = 0; r < existing.length; r++) { enhanceReply(existing[r]); }

  /* ---- Tools: print or save, a new conversation ------------------------------------- */

  var tools = el('div', 'chat-tools');
  tools.hidden = true;
  // "Print" and "New" are what a narrow frame shows; the names stay whole.
  function toolButton(className, shown, rest) {
    var button = el('button', 'tool-btn ' + className);
    button.type = 'button';
    button.appendChild(el('span', null, shown));
    button.appendChild(el('span', 'tool-rest', rest));
    return button;
  }
  var printButton = toolButton('tool-print', 'Print', ' or save this conversation');
  var newButton = toolButton('tool-new', 'New', ' conversation');
  tools.appendChild(printButton);
  tools.appendChild(newButton);
  // In the iframe they share the title's row; on the chat page they head the conversation.
  var embedHead = document.querySelector('.embed-head');
  if (embedHead) {
    embedHead.appendChild(tools);
  } else if (log && log.parentNode) {
    log.parentNode.insertBefore(tools, log);
  }

  // Printed only (see chat.css @media print): when it was saved, and each disclaimer of
  // the conversation once at the end, instead of under every answer.
  var printHead = el('p', 'print-only print-head');
  var printEnd = el('div', 'print-only print-disclaimer');
  if (log && log.parentNode) {
    log.parentNode.insertBefore(printHead, log);
    log.parentNode.insertBefore(printEnd, log.nextSibling);
  }

  function updatePrint() {
    var site = document.querySelector('.site-name, .embed-title');
    var name = site ? site.textContent.trim() : document.title;
    printHead.textContent = 'Questions and answers from ' + name + ', saved ' +
      stampText(new Date().toISOString()) + '. Not medical advice: take it to your doctor.';
    printEnd.textContent = '';
    var seen = {};
    var lines = conversation.querySelectorAll('.reply-body .disclaimer');
    for (var i = 0; i < lines.length; i++) {
      var text = lines[i].textContent.replace(/\s+/g, ' ').trim();
      if (text && !seen[text]) {
        seen[text] = true;
        printEnd.appendChild(el('p', null, text));
      }
    }
  }

  // The starter questions are for an empty chat: hidden once there is a conversation.
  var starters = document.getElementById('starters');
  function showTools() {
    var started = !!conversation.querySelector('.exchange');
    tools.hidden = !started;
    if (starters) { starters.hidden = started; }
    updatePrint();
  }

  window.addEventListener('beforeprint', updatePrint);
  printButton.addEventListener('click', function () {
    updatePrint();
    window.print();
  });

  // Starts afresh: clears what the tab kept and the server session it continued.
  newButton.addEventListener('click', function () {
    if (sending) { return; }
    saved = { session: '', exchanges: [] };
    saveConversation();
    if (sessionInput) { sessionInput.value = ''; }
    var items = conversation.querySelectorAll('.exchange');
    for (var i = 0; i < items.length; i++) { conversation.removeChild(items[i]); }
    clearError();
    showTools();
    announce('New conversation started.');
    box.focus();
  });

  // The conversation this tab had, unless the server rendered one (a no-JS post).
  loadConversation();
  if (!existing.length && saved.exchanges.length) {
    if (sessionInput && saved.session) { sessionInput.value = saved.session; }
    saved.exchanges.forEach(function (x) {
      var item = exchangeItem(x.q, x.t);
      item.appendChild(renderReply(x.r, x));
      conversation.appendChild(item);
      compactDisclaimer(item.querySelector('.reply'), screenHeight());
    });
    if (log && log.scrollHeight > log.clientHeight + 1 &&
        getComputedStyle(log).overflowY !== 'visible') {
      log.scrollTop = log.scrollHeight;
    }
  } else if (existing.length) {
    saved = { session: sessionInput ? sessionInput.value : '', exchanges: [] };
  }
  showTools();

  updateCounter();
}());
