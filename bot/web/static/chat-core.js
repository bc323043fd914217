/* The chat core: what the chat page (chat.js, for / and /embed) and the widget
   (widget.js) share, written once. chatCore(options) returns the conversation's parts:
   the conversation kept for the tab, rendering a reply, feedback, the short disclaimer,
   the character counter, errors shown with the crisis contacts, sending a question and
   starting afresh. Each client finds or builds its own elements and hands them over with
   attach(); what is its own stays with it (the page's tools and print, the widget's
   launcher, panel, focus trap and crisis contacts for another locale).

   The page loads this file as a script before chat.js (chatCore is its one global). The
   server puts it inside the widget's function when it serves /widget.js (at
   CHAT_CORE, see bot/service/routes.py), so the widget stays one script tag and adds
   nothing to the host page's globals.

   Text is always set with textContent; the only innerHTML is the server's `reply.html`,
   which bot/answer.py escapes server-side.

   options: prefix ('' on the page, 'ebw-' in the widget: ids, and the classes
   `visually-hidden` and `stamp`); base (the bot's address for /api calls, '' on the
   page); credentials ('same-origin' or 'omit'); channel (X-Evidence-Channel);
   maxLength; storageKey and saved (the conversation in sessionStorage, and its
   client's own fields); chipForm (the form a suggestion submits, or none: a plain
   button); scrollWindow (the page may scroll its window when the conversation does
   not scroll on its own); locale (sent with each question, if any); lang() (the
   language of the times shown). Hooks: typing(on), session() and keepSession(id),
   forgetSession(), started() (the conversation began or ended), lostFocus() (after a
   send: give the box focus back?), enabled() (may it send at all?). */
function chatCore(options) {
  'use strict';

  var P = options.prefix || '';
  var BASE = options.base || '';
  var maxLength = options.maxLength;
  var WARN_AT = Math.floor(maxLength * 0.9);
  var TIMEOUT_MS = 30000;
  var KEEP_EXCHANGES = 50;
  var HIDDEN = P + 'visually-hidden';
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var MSG_DOWN = 'The assistant can\u2019t be reached right now. Please try again later.';
  var MSG_OFFLINE = 'You seem to be offline. Please check your connection and try again.';
  var MSG_SLOW = 'The assistant is taking too long to answer. Please try again in a moment.';
  var MSG_FORBIDDEN = 'This assistant is not enabled on this site.';
  var MSG_EMPTY = 'Please type a question first.';
  // A crisis message gets contacts first, a clarifying question is not an answer yet.
  var NO_FEEDBACK = { urgent: true, clarify: true };
  // On a touch screen the keyboard's Enter adds a line (people expect it to) and the
  // button sends: no "Enter sends" hint there.
  var TOUCH = !!(window.matchMedia && window.matchMedia('(hover: none) and (pointer: coarse)').matches);

  // A hook the client left out does nothing.
  function hook(name) {
    return typeof options[name] === 'function' ? options[name] : function () { return undefined; };
  }
  function enabled() {
    return typeof options.enabled === 'function' ? options.enabled() : true;
  }

  // The client's elements (attach): the form and its box, button, counter and note; the
  // conversation and its scrolling log; the live region; the error box, its text and the
  // crisis contacts shown with it; the element the visible screen's size is set on.
  var ui = {};
  var sending = false;
  var errorSticky = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function attach(elements) {
    ui = elements;
    // An error the server rendered (the form's 429 or 503 page) stays like a failure.
    errorSticky = !!(ui.errorBox && !ui.errorBox.hidden);
  }

  /* ---- The conversation kept for the tab -------------------------------------------- */

  // {exchanges: [{q, t, r, voted}], ...the client's own fields}: r is the reply as the
  // API sent it.
  var saved = options.saved || { exchanges: [] };

  // The kept data (for the client's own fields), or null when there is none.
  function load() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(options.storageKey) || 'null');
      if (data && typeof data === 'object' && Array.isArray(data.exchanges)) {
        saved.exchanges = data.exchanges.filter(function (x) {
          return x && typeof x.q === 'string' && x.r && typeof x.r === 'object';
        }).slice(-KEEP_EXCHANGES);
        return data;
      }
    } catch (e) { /* unreadable: start afresh */ }
    return null;
  }

  function save() {
    saved.exchanges = saved.exchanges.slice(-KEEP_EXCHANGES);
    try {
      window.sessionStorage.setItem(options.storageKey, JSON.stringify(saved));
    } catch (e) { /* private mode or full: kept for this page only */ }
  }

  // Only what is shown is kept (not the passages of the citations).
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
      return d.toLocaleString(hook('lang')() || undefined,
        { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) { return d.toISOString().slice(0, 16).replace('T', ' '); }
  }

  // One question as shown: the text, and when it was asked.
  function exchangeItem(text, iso) {
    var item = el('li', 'exchange');
    var question = el('div', 'question');
    question.appendChild(el('span', HIDDEN, 'You asked:'));
    question.appendChild(el('p', null, text));
    item.appendChild(question);
    var when = stampText(iso);
    if (when) {
      var stamp = el('time', P + 'stamp', when);
      stamp.dateTime = iso;
      item.appendChild(stamp);
    }
    return item;
  }

  // A kept exchange, shown again.
  function restore(x) {
    var item = exchangeItem(x.q, x.t);
    item.appendChild(renderReply(x.r, x));
    return item;
  }

  function tooLongMessage() {
    return 'Your question is too long. Please keep it under ' + maxLength + ' characters.';
  }

  /* ---- Character counter; the box grows with what is typed ------------------------- */

  var lastLimitState = '';
  function updateCounter() {
    var box = ui.box;
    if (!box) { return; }
    var n = box.value.length;
    var state = n > maxLength ? 'over' : (n >= WARN_AT ? 'warn' : '');
    if (ui.counter) {
      // Only near the limit: far from it, a number would only take room.
      ui.counter.hidden = state === '';
      ui.counter.textContent = n + ' / ' + maxLength;
      ui.counter.classList.toggle('is-warn', state === 'warn');
      ui.counter.classList.toggle('is-over', state === 'over');
    }
    var note = ui.limitNote;
    if (note) {
      note.classList.toggle('is-warn', state === 'warn');
      note.classList.toggle('is-over', state === 'over');
      if (state === 'over') {
        var extra = n - maxLength;
        note.textContent = 'Too long: please remove ' + extra +
          (extra === 1 ? ' character.' : ' characters.');
      } else if (state === 'warn') {
        var left = maxLength - n;
        note.textContent = left + (left === 1 ? ' character left.' : ' characters left.');
      } else {
        note.textContent = '';
      }
    }
    if (state === 'over') {
      box.setAttribute('aria-invalid', 'true');
    } else {
      box.removeAttribute('aria-invalid');
    }
    if (ui.sendButton) { ui.sendButton.disabled = sending || state === 'over'; }
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

  // One line to start with, as many as the text needs up to the stylesheet's max-height
  // (four lines or a quarter of the screen), then it scrolls. Not shown yet (a closed
  // panel): measured when it is.
  function fitBox() {
    var box = ui.box;
    if (!box || !box.getClientRects().length) { return; }
    box.style.height = 'auto';
    var cs = getComputedStyle(box);
    var borders = parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
    box.style.height = (box.scrollHeight + borders) + 'px';
  }

  // The part of the window the reader can see: with the on-screen keyboard open it is
  // the visualViewport, which shrinks where the page does not (Safari, and Chrome unless
  // the page opts in). Set on ui.viewport: --vvh its height, --vvtop where it starts,
  // --kb how much of the page the keyboard covers (with the prefix: --ebw-vvh...). Pinch
  // zoom is left alone.
  function followViewport() {
    if (!ui.viewport) { return; }
    var vv = window.visualViewport;
    if (vv && vv.scale > 1.01) { return; }
    var height = vv ? vv.height : window.innerHeight;
    var top = vv ? Math.max(0, vv.offsetTop) : 0;
    var covered = vv ? window.innerHeight - vv.height - vv.offsetTop : 0;
    ui.viewport.style.setProperty('--' + P + 'vvh', Math.round(height) + 'px');
    ui.viewport.style.setProperty('--' + P + 'vvtop', Math.round(top) + 'px');
    ui.viewport.style.setProperty('--' + P + 'kb', Math.max(0, Math.round(covered)) + 'px');
  }

  function watchViewport() {
    followViewport();
    if (window.visualViewport) {
      window.visualViewport.addEventListener('resize', followViewport);
      window.visualViewport.addEventListener('scroll', followViewport);
    }
    window.addEventListener('resize', function () { followViewport(); fitBox(); });
  }

  /* ---- Status, errors, announcements ------------------------------------------------ */

  var announceTimer = null;
  function announce(text) {
    var live = ui.live;
    if (!live) { return; }
    live.textContent = '';
    if (announceTimer) { clearTimeout(announceTimer); }
    announceTimer = setTimeout(function () { live.textContent = text; }, 60);
  }

  // Whenever a message could not be answered, the crisis contacts show with the error:
  // the person may have written because they need help now (not for an empty box).
  // A failure stays until the next send; a problem with the text goes once it is edited.
  function showError(text, withContacts, sticky) {
    if (!ui.errorBox) { return; }
    (ui.errorText || ui.errorBox).textContent = text;
    if (ui.crisisBox) {
      ui.crisisBox.hidden = withContacts === false || !ui.crisisBox.querySelector('li');
    }
    errorSticky = sticky !== false;
    ui.errorBox.hidden = false;
  }

  function clearError() {
    if (!ui.errorBox) { return; }
    errorSticky = false;
    (ui.errorText || ui.errorBox).textContent = '';
    if (ui.crisisBox) { ui.crisisBox.hidden = true; }
    ui.errorBox.hidden = true;
  }

  function errorShown() {
    return !!ui.errorBox && !ui.errorBox.hidden;
  }

  function setSending(state) {
    sending = state;
    if (ui.form) { ui.form.setAttribute('aria-busy', state ? 'true' : 'false'); }
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

  // A question to ask with one click: a suggestion, an option or a starter. On the page
  // it submits the form (and works without JavaScript); in the widget it is a button.
  function makeChip(text) {
    var chip = el('button', 'chip', text);
    chip.type = options.chipForm ? 'submit' : 'button';
    if (options.chipForm) { chip.name = 'message'; }
    chip.value = String(text);
    if (options.chipForm) {
      chip.setAttribute('form', options.chipForm);
      chip.formNoValidate = true;
    }
    return chip;
  }

  function makeChips(list) {
    var chips = el('ul', 'chips');
    list.forEach(function (s) {
      var li = el('li');
      li.appendChild(makeChip(s));
      chips.appendChild(li);
    });
    return chips;
  }

  // Links to the assessment pages open in a new tab, so the conversation (and the host
  // page) stays open.
  function decorateLinks(scope) {
    var links = scope.querySelectorAll('.reply-body a[href]');
    for (var j = 0; j < links.length; j++) {
      var a = links[j];
      if (!/^https?:/i.test(a.getAttribute('href') || '') || a.target === '_blank') { continue; }
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.appendChild(el('span', HIDDEN, ' (opens in a new tab)'));
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
    wrap.appendChild(el('span', HIDDEN, 'Answer:'));

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
      var chips = makeChips(suggestions);
      if (clarify) { chips.setAttribute('aria-label', 'Options'); }
      sugg.appendChild(chips);
      // A clarify's options go right under its question, above the disclaimer.
      var disclaimer = clarify ? body.querySelector(':scope > .disclaimer') : null;
      if (disclaimer) { body.insertBefore(sugg, disclaimer); } else { wrap.appendChild(sugg); }
    }
    enhanceReply(wrap, kept);
    return wrap;
  }

  // Links, and feedback but for a crisis or a clarifying question: for a reply rendered
  // here or by the server (the page's no-JS post).
  function enhanceReply(replyEl, kept) {
    decorateLinks(replyEl);
    var id = replyEl.getAttribute('data-answer-id');
    if (id && !NO_FEEDBACK[replyEl.getAttribute('data-status')] &&
        !replyEl.querySelector('.feedback') && !(kept && kept.voted)) {
      replyEl.appendChild(buildFeedback(id, kept));
    }
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

  /* ---- Feedback --------------------------------------------------------------------- */

  var feedbackCount = 0;

  // Thumbs as inline SVG (no emoji font needed), hidden from screen readers: the
  // accessible names are "Yes, helpful" and "No, not helpful".
  var THUMB_UP = 'M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3';
  var THUMB_DOWN = 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17';

  // An icon drawn with currentColor, hidden from screen readers (its button is named).
  function icon(paths, className) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', className);
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  function feedbackButton(className, path, visible, hidden) {
    var b = el('button', 'feedback-btn ' + className);
    b.type = 'button';
    b.setAttribute('aria-pressed', 'false');
    b.appendChild(icon([path], 'feedback-icon'));
    b.appendChild(el('span', null, visible));
    b.appendChild(el('span', HIDDEN, hidden));
    return b;
  }

  async function postFeedback(answerId, helpful, comment) {
    var response;
    try {
      response = await fetch(BASE + '/api/feedback', {
        method: 'POST',
        mode: 'cors',
        credentials: options.credentials,
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
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
    if (response.status === 403) { return MSG_FORBIDDEN; }
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
    q.id = P + 'feedback-q-' + n;
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
    var comment = el('textarea', 'feedback-comment');
    comment.id = P + 'feedback-comment-' + n;
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
      if (kept) { kept.voted = true; save(); }
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
    var full = ui.conversation.querySelectorAll(
      '.reply-body > .disclaimer:not(.disclaimer--short)');
    var prev = null;
    for (var i = full.length - 1; i >= 0; i--) {
      if (full[i] !== line && (full[i].compareDocumentPosition(line) & 4)) { prev = full[i]; break; }
    }
    if (!prev) { return; }
    var gap = line.getBoundingClientRect().top - prev.getBoundingClientRect().bottom;
    if (gap >= screenPx) { return; }
    line.classList.add('disclaimer--short');
    line.id = line.id || P + 'disclaimer-' + (++disclaimerCount);
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

  // A screen: the conversation's own scrolling box (the iframe, the widget), else the
  // window (the chat page).
  function logScrolls() {
    return !!ui.log && getComputedStyle(ui.log).overflowY !== 'visible';
  }

  function screenHeight() {
    return logScrolls() ? ui.log.clientHeight : window.innerHeight;
  }

  // Every exchange's disclaimer, once each: printed at the end of the conversation.
  function disclaimerTexts(scope) {
    var seen = [];
    var lines = scope.querySelectorAll('.reply-body .disclaimer');
    for (var i = 0; i < lines.length; i++) {
      var text = lines[i].textContent.replace(/\s+/g, ' ').trim();
      if (text && seen.indexOf(text) < 0) { seen.push(text); }
    }
    return seen;
  }

  function printHeadText(name) {
    return 'Questions and answers from ' + name + ', saved ' +
      stampText(new Date().toISOString()) + '. Not medical advice: take it to your doctor.';
  }

  /* ---- Sending ---------------------------------------------------------------------- */

  function scrollToItem(node) {
    var log = ui.log;
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var behavior = reduce ? 'auto' : 'smooth';
    // Never scrollIntoView: inside an iframe or the widget it would scroll the host page.
    if (log && (!options.scrollWindow ||
        (log.scrollHeight > log.clientHeight + 1 && logScrolls()))) {
      var top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
      log.scrollTo({ top: Math.max(0, top - 8), behavior: behavior });
    } else {
      var y = node.getBoundingClientRect().top + window.pageYOffset - 12;
      window.scrollTo({ top: Math.max(0, y), behavior: behavior });
    }
  }

  // The reply to one question, or an Error whose message says why there is none.
  async function ask(text) {
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    try {
      var response;
      try {
        response = await fetch(BASE + '/api/chat', {
          method: 'POST',
          mode: 'cors',
          credentials: options.credentials,
          headers: {
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            // Lets the audit log tell the chat page, the iframe and the widget apart.
            'X-Evidence-Channel': options.channel
          },
          signal: controller ? controller.signal : undefined,
          // The visitor's locale picks an urgent reply's crisis contacts (none: left out).
          body: JSON.stringify({
            message: text, session_id: hook('session')() || null, locale: options.locale
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
      return reply;
    } finally {
      if (timer) { clearTimeout(timer); }
    }
  }

  async function send(rawText, fromBox) {
    if (sending || !enabled()) { return; }
    var box = ui.box;
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
    ui.conversation.appendChild(item);
    hook('typing')(true);
    scrollToItem(item);
    if (fromBox) {
      box.value = '';
      updateCounter();
    }

    try {
      var reply = await ask(text);
      hook('keepSession')(reply.session_id ? String(reply.session_id) : '');
      var kept = { q: text, t: asked, r: keptReply(reply), voted: false };
      saved.exchanges.push(kept);
      save();
      item.appendChild(renderReply(reply, kept));
      compactDisclaimer(item.querySelector('.reply'), screenHeight());
      hook('started')();
      hook('typing')(false);
      announce(summary(reply));
      scrollToItem(item);
    } catch (err) {
      hook('typing')(false);
      ui.conversation.removeChild(item);
      if (!box.value) {
        box.value = text;
        updateCounter();
      }
      showError((err && err.message) || MSG_DOWN);
    } finally {
      setSending(false);
      // Back to the question box when the focus was lost (the button was disabled); a
      // focused chip keeps focus, so phones don't pop the keyboard over the answer.
      if (hook('lostFocus')()) { box.focus({ preventScroll: true }); }
    }
  }

  // Starts afresh: clears what the tab kept and the server session it continued.
  // False while a question is on its way.
  function newConversation() {
    if (sending) { return false; }
    saved.exchanges = [];
    hook('forgetSession')();
    save();
    var items = ui.conversation.querySelectorAll('.exchange');
    for (var i = 0; i < items.length; i++) { ui.conversation.removeChild(items[i]); }
    clearError();
    hook('started')();
    announce('New conversation started.');
    ui.box.focus();
    return true;
  }

  // The form, the chips in the conversation, the box, and the connection.
  function listen() {
    var box = ui.box;
    ui.form.addEventListener('submit', function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter && submitter.classList && submitter.classList.contains('chip')) {
        send(submitter.value, false);
      } else {
        send(box.value, true);
      }
    });
    // Suggestion chips sit outside the form: their clicks are handled here.
    ui.conversation.addEventListener('click', function (event) {
      var chip = event.target && event.target.closest ? event.target.closest('button.chip') : null;
      if (!chip) { return; }
      event.preventDefault();
      send(chip.value || chip.textContent, false);
    });
    box.addEventListener('input', function () {
      updateCounter();
      if (errorShown() && !errorSticky && box.value.trim()) { clearError(); }
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
      if (errorShown() && (ui.errorText || ui.errorBox).textContent === MSG_OFFLINE) {
        clearError();
      }
    });
    if (navigator.onLine === false) { showError(MSG_OFFLINE); }
  }

  return {
    TOUCH: TOUCH,
    MSG_FORBIDDEN: MSG_FORBIDDEN,
    saved: saved,
    el: el,
    icon: icon,
    attach: attach,
    listen: listen,
    load: load,
    save: save,
    restore: restore,
    stampText: stampText,
    makeChips: makeChips,
    enhanceReply: enhanceReply,
    compactDisclaimer: compactDisclaimer,
    screenHeight: screenHeight,
    logScrolls: logScrolls,
    disclaimerTexts: disclaimerTexts,
    printHeadText: printHeadText,
    updateCounter: updateCounter,
    fitBox: fitBox,
    followViewport: followViewport,
    watchViewport: watchViewport,
    announce: announce,
    showError: showError,
    clearError: clearError,
    send: send,
    newConversation: newConversation
  };
}
