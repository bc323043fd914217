/* Evidence assistant: embeddable help widget.
 *
 *   <script src="https://BOT/widget.js" async
 *           data-position="bottom-right|bottom-left" data-title="..." data-accent="#0b57d0"
 *           data-open="true" data-locale="en-GB"></script>
 *
 * Adds a launcher button and a chat panel inside a Shadow DOM (host element
 * #evidence-bot-widget), styled only by BASE/static/widget.css. Plain ES2017, no
 * framework, no external assets. Text is always set with textContent; the only
 * innerHTML is the server's `reply.html`, which the bot escapes server-side.
 *
 * Whenever a question cannot be answered (429, 503, offline), the panel shows the crisis
 * contacts, tap-to-call. They come with the config (BOT_LOCALE) or, for a `data-locale`,
 * from /api/crisis-contacts at load, kept in sessionStorage: never fetched at the moment
 * of failure.
 */
(function () {
  'use strict';

  // The server replaces this token with {"allowedOrigins": [...], "maxLength": 1000,
  // "siteName": "...", "crisis": {"locale": "us", "contacts": [{"text", "href"}]}}.
  var CONFIG = /*BOT_CONFIG*/{};
  if (!CONFIG || typeof CONFIG !== 'object') { CONFIG = {}; }

  var HOST_ID = 'evidence-bot-widget';
  if (document.getElementById(HOST_ID)) { return; }   // loaded twice: keep the first

  function findScript() {
    if (document.currentScript && document.currentScript.src) { return document.currentScript; }
    var scripts = document.getElementsByTagName('script');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#].*)?$/.test(scripts[i].src || '')) { return scripts[i]; }
    }
    return null;
  }

  var script = findScript();
  if (!script) { return; }
  var scriptUrl;
  try { scriptUrl = new URL(script.src, location.href); } catch (e) { return; }
  var BASE = scriptUrl.href.replace(/[?#].*$/, '').replace(/\/widget\.js$/, '');
  var BOT_ORIGIN = scriptUrl.origin;

  function data(name) {
    var v = script.getAttribute('data-' + name);
    return v === null ? '' : String(v).trim();
  }

  var OPTIONS = {
    position: data('position') === 'bottom-left' ? 'bottom-left' : 'bottom-right',
    title: data('title') || (typeof CONFIG.siteName === 'string' && CONFIG.siteName) ||
      'Evidence assistant',
    accent: data('accent'),
    open: data('open') === 'true',
    locale: data('locale')
  };
  var MAX = typeof CONFIG.maxLength === 'number' && CONFIG.maxLength > 0 ? CONFIG.maxLength : 1000;
  var WARN_AT = Math.floor(MAX * 0.9);
  var STORAGE_KEY = 'evidence-bot-session:' + BASE;
  // What is on screen, for this tab: the exchanges and whether the panel is open, so a
  // follow-up asked on the next page of the site is answered about what the person sees.
  var CONVERSATION_KEY = 'evidence-bot-conversation:' + BASE;
  var KEEP_EXCHANGES = 50;
  var CRISIS_KEY = 'evidence-bot-crisis:' + BASE + ':' + OPTIONS.locale;
  // Sent with each question when it has the shape /api/chat accepts (else left out).
  var API_LOCALE = OPTIONS.locale.length <= 35 &&
    /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(OPTIONS.locale) ? OPTIONS.locale : undefined;
  var TIMEOUT_MS = 30000;

  var ALLOWED = (function () {
    var here = location.origin;
    if (here === BOT_ORIGIN) { return true; }
    var list = Array.isArray(CONFIG.allowedOrigins) ? CONFIG.allowedOrigins : [];
    for (var i = 0; i < list.length; i++) {
      var o = String(list[i]).replace(/\/+$/, '');
      if (o === '*' || o === here) { return true; }
    }
    return false;
  }());

  var MSG_DOWN = 'The assistant can\u2019t be reached right now. Please try again later.';
  var MSG_OFFLINE = 'You seem to be offline. Please check your connection and try again.';
  var MSG_SLOW = 'The assistant is taking too long to answer. Please try again in a moment.';
  var MSG_DISABLED = 'This assistant is not enabled on this site.';
  var MSG_EMPTY = 'Please type a question first.';
  var MSG_TOO_LONG = 'Your question is too long. Please keep it under ' + MAX + ' characters.';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  // On a touch screen the keyboard's Enter adds a line (people expect it to) and Send
  // sends: no "Enter sends" hint there.
  var TOUCH = !!(window.matchMedia && window.matchMedia('(hover: none) and (pointer: coarse)').matches);
  // A crisis message gets contacts first, a clarifying question is not an answer yet.
  var NO_FEEDBACK = { urgent: true, clarify: true };

  /* ---- Small DOM helpers (never innerHTML) ------------------------------------------ */

  function h(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

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

  function storageGet() {
    try { return window.sessionStorage.getItem(STORAGE_KEY) || null; } catch (e) { return null; }
  }

  function storageSet(value) {
    try { window.sessionStorage.setItem(STORAGE_KEY, value); } catch (e) { /* private mode */ }
  }

  // {open: bool, exchanges: [{q, t, r, voted}]}: r is the reply as the API sent it.
  var saved = { open: false, exchanges: [] };
  var openKnown = false;   // the visitor opened or closed it in this tab: data-open yields

  function loadConversation() {
    try {
      var data = JSON.parse(window.sessionStorage.getItem(CONVERSATION_KEY) || 'null');
      if (data && typeof data === 'object' && Array.isArray(data.exchanges)) {
        saved.open = data.open === true;
        openKnown = typeof data.open === 'boolean';
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

  // Only what the panel shows is kept (not the passages of the citations).
  function keptReply(reply) {
    return {
      status: reply.status, answer: reply.answer, html: reply.html,
      evidence_level: reply.evidence_level, disclaimer: reply.disclaimer,
      suggestions: reply.suggestions, answer_id: reply.answer_id,
      crisis_kind: reply.crisis_kind
    };
  }

  /* ---- Crisis contacts: there before anything can fail ------------------------------ */

  // Only links a phone can tap or a https page; anything else is shown as text.
  var CONTACT_HREF = /^(tel:\+?[0-9-]+|sms:\+?[0-9-]+|https:\/\/\S+)$/;

  function validContacts(list) {
    if (!Array.isArray(list)) { return null; }
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var c = list[i];
      if (!c || typeof c.text !== 'string' || !c.text) { continue; }
      var href = typeof c.href === 'string' && CONTACT_HREF.test(c.href) ? c.href : null;
      out.push({ text: c.text, href: href });
    }
    return out.length ? out : null;
  }

  var contacts = validContacts(CONFIG.crisis && CONFIG.crisis.contacts) || [];

  // Questions the corpus answers, shown in the empty panel.
  var STARTERS = (Array.isArray(CONFIG.starters) ? CONFIG.starters : []).filter(function (q) {
    return typeof q === 'string' && q && q.length <= 300;
  }).slice(0, 6);

  // Another locale's contacts (data-locale="en-GB"): once per tab, at load. A failure
  // keeps the BOT_LOCALE ones from the config.
  function loadLocaleContacts() {
    if (!OPTIONS.locale || !ALLOWED) { return; }
    var kept = null;
    try {
      kept = validContacts(JSON.parse(window.sessionStorage.getItem(CRISIS_KEY) || 'null'));
    } catch (e) { kept = null; }
    if (kept) { setContacts(kept); return; }
    if (typeof fetch !== 'function') { return; }
    fetch(BASE + '/api/crisis-contacts?locale=' + encodeURIComponent(OPTIONS.locale), {
      mode: 'cors', credentials: 'omit', headers: { 'Accept': 'application/json' }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      var list = validContacts(body && body.contacts);
      if (!list) { return; }
      setContacts(list);
      try {
        window.sessionStorage.setItem(CRISIS_KEY, JSON.stringify(list));
      } catch (e) { /* private mode: kept for this page only */ }
    }).catch(function () { /* offline at load: the config's contacts stay */ });
  }

  /* ---- Accent colour: validated, with a readable text colour computed for it -------- */

  function parseColour(value) {
    if (!value || !window.CSS || !CSS.supports || !CSS.supports('color', value)) { return null; }
    var ctx;
    try { ctx = document.createElement('canvas').getContext('2d'); } catch (e) { ctx = null; }
    if (!ctx) { return null; }
    ctx.fillStyle = '#010203';
    ctx.fillStyle = value;
    var out = String(ctx.fillStyle);
    var m;
    if ((m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(out))) {
      if (out.toLowerCase() === '#010203' && value.replace(/\s/g, '').toLowerCase() !== '#010203') {
        return null;   // not a colour the canvas understands (e.g. currentColor)
      }
      return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
    }
    if ((m = /^rgba?\(\s*(\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\s*\)$/.exec(out))) {
      if (m[4] !== undefined && parseFloat(m[4]) < 1) { return null; }  // no see-through buttons
      return [+m[1], +m[2], +m[3]];
    }
    return null;
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function applyAccent(host) {
    var rgb = parseColour(OPTIONS.accent);
    if (!rgb) { return; }
    var l = luminance(rgb);
    var onWhite = 1.05 / (l + 0.05);
    var onBlack = (l + 0.05) / 0.05;
    host.style.setProperty('--accent', OPTIONS.accent);
    host.style.setProperty('--accent-text', onWhite >= onBlack ? '#ffffff' : '#111111');
    // Text-coloured uses (chip labels) only take the accent when it is readable on white.
    if (onWhite >= 4.5) { host.style.setProperty('--accent-ink', OPTIONS.accent); }
  }

  /* ---- Building the widget ---------------------------------------------------------- */

  var host, root, launcher, panel, closeButton, newButton, log, conversation, typing, live,
    errorBox, errorText, crisisBox, crisisList, form, box, counter, limitNote, sendButton,
    startersBox, printButton;
  var isOpen = false;
  var sending = false;
  var feedbackCount = 0;

  function build() {
    host = h('div');
    host.id = HOST_ID;
    host.hidden = true;   // until widget.css has loaded, so nothing flashes unstyled
    applyAccent(host);
    root = host.attachShadow({ mode: 'open' });

    var css = h('link');
    css.rel = 'stylesheet';
    css.href = BASE + '/static/widget.css';
    var shown = false;
    var reveal = function () {
      if (shown) { return; }
      shown = true;
      host.hidden = false;
      if (isOpen && box) { fitBox(); }
      scrollRestored();
      if (isOpen) { focusInitial(); }   // data-open: focus once the panel can be seen
    };
    css.addEventListener('load', reveal);
    css.addEventListener('error', reveal);
    setTimeout(reveal, 4000);
    root.appendChild(css);

    var shell = h('div', 'ebw ebw--' + OPTIONS.position);

    launcher = h('button', 'ebw-launcher');
    launcher.type = 'button';
    // Named by its visible text, the panel's own title (one name for both); open or
    // closed is aria-expanded, so the name never says "Open" while it is open.
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'ebw-panel');
    launcher.appendChild(icon([
      'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
      'M7 9h10M7 13h6'
    ], 'ebw-icon'));
    launcher.appendChild(h('span', 'ebw-launcher-text', OPTIONS.title));
    shell.appendChild(launcher);

    panel = h('div', 'ebw-panel');
    panel.id = 'ebw-panel';
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-modal', 'true');
    panel.setAttribute('aria-labelledby', 'ebw-title');
    panel.hidden = true;
    if (OPTIONS.locale) {
      try {
        var tags = Intl.getCanonicalLocales(OPTIONS.locale);
        if (tags.length) { panel.setAttribute('lang', tags[0]); }
      } catch (e) { /* invalid tag: keep the page's language */ }
    }

    var head = h('div', 'ebw-head');
    var title = h('h2', 'ebw-title', OPTIONS.title);
    title.id = 'ebw-title';
    closeButton = h('button', 'ebw-close');
    closeButton.type = 'button';
    closeButton.setAttribute('aria-label', 'Close the evidence assistant');
    closeButton.appendChild(icon(['M6 6l12 12M18 6L6 18'], 'ebw-icon'));
    head.appendChild(title);
    // Starts afresh: clears what the tab kept and the server session it continued.
    newButton = h('button', 'ebw-new');
    newButton.type = 'button';
    // The name stays when a narrow panel shows the icon alone.
    newButton.setAttribute('aria-label', 'New conversation');
    newButton.appendChild(icon(['M12 20h9', 'M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4z'],
      'ebw-icon'));
    newButton.appendChild(h('span', 'ebw-new-text', 'New conversation'));
    newButton.hidden = true;
    var tools = h('div', 'ebw-tools');
    tools.appendChild(newButton);
    tools.appendChild(closeButton);
    head.appendChild(tools);
    panel.appendChild(head);

    log = h('div', 'ebw-log');
    log.setAttribute('role', 'region');
    log.setAttribute('aria-label', 'Conversation');
    log.tabIndex = 0;
    conversation = h('ol', 'ebw-conversation');
    log.appendChild(conversation);
    typing = h('p', 'ebw-typing');
    typing.hidden = true;
    var dots = h('span', 'ebw-dots');
    dots.setAttribute('aria-hidden', 'true');
    dots.appendChild(h('span'));
    dots.appendChild(h('span'));
    dots.appendChild(h('span'));
    typing.appendChild(dots);
    typing.appendChild(h('span', null, 'Looking this up\u2026'));
    log.appendChild(typing);
    // At the end of the conversation: a copy to take to the doctor.
    printButton = h('button', 'ebw-print', 'Print or save this conversation');
    printButton.type = 'button';
    printButton.hidden = true;
    log.appendChild(printButton);
    panel.appendChild(log);

    live = h('div', 'ebw-live ebw-visually-hidden');
    live.setAttribute('role', 'status');
    live.setAttribute('aria-live', 'polite');
    live.setAttribute('aria-atomic', 'true');
    panel.appendChild(live);

    errorBox = h('div', 'ebw-error');
    errorBox.setAttribute('role', 'alert');
    errorBox.hidden = true;
    errorText = h('p', 'ebw-error-text');
    errorBox.appendChild(errorText);
    crisisBox = buildCrisis();
    errorBox.appendChild(crisisBox);
    panel.appendChild(errorBox);

    if (ALLOWED) {
      conversation.appendChild(welcome());
      panel.appendChild(buildForm());
      loadConversation();
      saved.exchanges.forEach(function (x) { conversation.appendChild(restoreExchange(x)); });
      showStarted();
    } else {
      panel.classList.add('ebw-panel--off');
      var off = h('p', 'ebw-disabled', MSG_DISABLED);
      off.setAttribute('role', 'note');
      log.insertBefore(off, conversation);
      // Not enabled here is a failure too: whoever opened it still gets the numbers.
      if (contacts.length) { crisisBox.hidden = false; log.insertBefore(crisisBox, conversation); }
    }

    shell.appendChild(panel);
    root.appendChild(shell);
    document.body.appendChild(host);
    followViewport();
    if (window.visualViewport) {
      window.visualViewport.addEventListener('resize', followViewport);
      window.visualViewport.addEventListener('scroll', followViewport);
    }
    window.addEventListener('resize', function () {
      followViewport();
      if (isOpen && box) { fitBox(); }
    });

    launcher.addEventListener('click', function () { if (isOpen) { close(); } else { open(); } });
    closeButton.addEventListener('click', close);
    newButton.addEventListener('click', newConversation);
    printButton.addEventListener('click', printConversation);
    shell.addEventListener('keydown', onKeydown);
    document.addEventListener('focusin', onDocumentFocus);
    conversation.addEventListener('click', onConversationClick);
    if (ALLOWED) {
      // Losing the connection is an error state too: say so, with the contacts, before
      // the person types a message that cannot be sent.
      window.addEventListener('offline', function () { showError(MSG_OFFLINE); });
      window.addEventListener('online', function () {
        if (!errorBox.hidden && errorText.textContent === MSG_OFFLINE) { clearError(); }
      });
      if (navigator.onLine === false) { showError(MSG_OFFLINE); }
    }
    loadLocaleContacts();

    restoredScroll = saved.exchanges.length > 0;
    if (ALLOWED && openKnown) {
      // As the visitor left it on the last page; reopened, it does not fly in again.
      if (saved.open) {
        panel.classList.add('ebw-panel--kept');
        open();
      }
    } else if (OPTIONS.open) {
      open();
    }
  }

  // A kept conversation opens at its last exchange, once the panel has a size (the
  // stylesheet loaded and the panel shown).
  var restoredScroll = false;
  function scrollRestored() {
    if (!restoredScroll || host.hidden || panel.hidden) { return; }
    restoredScroll = false;
    var replies = conversation.querySelectorAll('.reply');
    for (var r = 0; r < replies.length; r++) { compactDisclaimer(replies[r], log.clientHeight); }
    var items = conversation.querySelectorAll('.exchange');
    var last = items[items.length - 1];
    if (last) {
      log.scrollTop = last.getBoundingClientRect().top - log.getBoundingClientRect().top +
        log.scrollTop - 8;
    }
  }

  function buildCrisis() {
    var wrap = h('div', 'ebw-crisis');
    wrap.hidden = true;
    wrap.appendChild(h('p', 'ebw-crisis-title', 'If you need help now:'));
    crisisList = h('ul', 'crisis');
    wrap.appendChild(crisisList);
    setContacts(contacts);
    return wrap;
  }

  function setContacts(list) {
    contacts = list;
    if (!crisisList) { return; }
    crisisList.textContent = '';
    list.forEach(function (c) {
      var li = h('li');
      if (c.href) {
        var a = h('a', null, c.text);
        a.href = c.href;
        // The chat link opens beside the host page; tel: and sms: hand over to the phone.
        if (/^https:/.test(c.href)) {
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          a.appendChild(h('span', 'ebw-visually-hidden', ' (opens in a new tab)'));
        }
        li.appendChild(a);
      } else {
        li.textContent = c.text;
      }
      crisisList.appendChild(li);
    });
  }

  function stampText(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ''; }
    try {
      return d.toLocaleString(panel.getAttribute('lang') || undefined,
        { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) { return d.toISOString().slice(0, 16).replace('T', ' '); }
  }

  // One question as shown: the text, and when it was asked.
  function exchangeItem(text, iso) {
    var item = h('li', 'exchange');
    var question = h('div', 'question');
    question.appendChild(h('span', 'ebw-visually-hidden', 'You asked:'));
    question.appendChild(h('p', null, text));
    item.appendChild(question);
    var when = stampText(iso);
    if (when) {
      var stamp = h('time', 'ebw-stamp', when);
      stamp.dateTime = iso;
      item.appendChild(stamp);
    }
    return item;
  }

  function restoreExchange(x) {
    var item = exchangeItem(x.q, x.t);
    item.appendChild(renderReply(x.r, x));
    return item;
  }

  // "New conversation" and the starters are for a conversation that has begun / not yet.
  function showStarted() {
    var started = saved.exchanges.length > 0;
    newButton.hidden = !started;
    printButton.hidden = !started;
    if (startersBox) { startersBox.hidden = started; }
  }

  /* ---- Print or save: the conversation alone, in a window of its own ---------------- */

  // The host page would print itself, not the panel: the exchanges are copied (cloned
  // nodes, never markup) into a new window styled by the bot's chat.css, whose print
  // rules keep the times, levels and source addresses and the disclaimer once.
  function printConversation() {
    var w = window.open('', '_blank');
    if (!w) {
      showError('Your browser blocked the print window. Please allow pop-ups for this ' +
        'site and try again.', false, false);
      return;
    }
    var doc = w.document;
    doc.documentElement.lang = panel.getAttribute('lang') || document.documentElement.lang || 'en';
    doc.title = OPTIONS.title + ': conversation';
    var css = doc.createElement('link');
    css.rel = 'stylesheet';
    css.href = BASE + '/static/chat.css';
    doc.head.appendChild(css);
    doc.body.className = 'print-view';
    var main = doc.createElement('main');
    main.className = 'page';
    var heading = doc.createElement('h1');
    heading.textContent = OPTIONS.title;
    main.appendChild(heading);
    var head = doc.createElement('p');
    head.className = 'print-head';
    head.textContent = 'Questions and answers from ' + OPTIONS.title + ', saved ' +
      stampText(new Date().toISOString()) + '. Not medical advice: take it to your doctor.';
    main.appendChild(head);
    var list = doc.createElement('ol');
    list.className = 'conversation';
    var items = conversation.querySelectorAll('.exchange');
    var disclaimers = [];
    for (var i = 0; i < items.length; i++) {
      var copy = doc.importNode(items[i], true);
      var drop = copy.querySelectorAll('.feedback, .suggestions, button');
      for (var j = 0; j < drop.length; j++) { drop[j].parentNode.removeChild(drop[j]); }
      var hidden = copy.querySelectorAll('.ebw-visually-hidden');
      for (var k = 0; k < hidden.length; k++) { hidden[k].className = 'visually-hidden'; }
      var stamps = copy.querySelectorAll('.ebw-stamp');
      for (var n = 0; n < stamps.length; n++) { stamps[n].className = 'stamp'; }
      var lines = copy.querySelectorAll('.reply-body .disclaimer');
      for (var m = 0; m < lines.length; m++) {
        var text = lines[m].textContent.replace(/\s+/g, ' ').trim();
        if (text && disclaimers.indexOf(text) < 0) { disclaimers.push(text); }
      }
      list.appendChild(copy);
    }
    main.appendChild(list);
    var end = doc.createElement('div');
    end.className = 'print-disclaimer';
    disclaimers.forEach(function (text) {
      var p = doc.createElement('p');
      p.textContent = text;
      end.appendChild(p);
    });
    main.appendChild(end);
    doc.body.appendChild(main);
    var printed = false;
    var go = function () {
      if (printed) { return; }
      printed = true;
      w.focus();
      w.print();
    };
    css.addEventListener('load', go);
    css.addEventListener('error', go);
    setTimeout(go, 3000);
  }

  function newConversation() {
    if (sending) { return; }
    saved.exchanges = [];
    saveConversation();
    try { window.sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* private mode */ }
    var items = conversation.querySelectorAll('.exchange');
    for (var i = 0; i < items.length; i++) { conversation.removeChild(items[i]); }
    clearError();
    showStarted();
    log.scrollTop = 0;
    announce('New conversation started.');
    box.focus();
  }

  function welcome() {
    var li = h('li', 'ebw-welcome');
    li.appendChild(h('p', null, 'Hello. Ask a question about our evidence level assessments, ' +
      'for example what evidence exists for a treatment in a condition, or what an ' +
      'evidence level means.'));
    // The note is part of this first message, not a block above the conversation: on a
    // phone with its keyboard open every line of the panel counts.
    li.appendChild(h('p', 'ebw-note', 'Answers come only from our published evidence ' +
      'assessments. Not medical advice: please talk to your doctor about your own treatment.'));
    if (STARTERS.length) {
      startersBox = h('div', 'ebw-starters');
      var title = h('p', 'ebw-starters-title', 'Not sure where to start? Try asking:');
      title.id = 'ebw-starters-title';
      var chips = h('ul', 'chips');
      chips.setAttribute('aria-labelledby', title.id);
      STARTERS.forEach(function (q) {
        var item = h('li');
        var chip = h('button', 'chip', q);
        chip.type = 'button';
        item.appendChild(chip);
        chips.appendChild(item);
      });
      startersBox.appendChild(title);
      startersBox.appendChild(chips);
      li.appendChild(startersBox);
    }
    li.appendChild(h('p', null, 'If you are in danger or thinking about harming yourself, ' +
      'call your local emergency number now.'));
    return li;
  }

  function buildForm() {
    form = h('form', 'ebw-form');
    form.noValidate = true;
    var label = h('label', 'ebw-label', 'Your question');
    label.htmlFor = 'ebw-message';
    // One line beside Send, growing with what is typed (fitBox); the label is the box's
    // name for screen readers, its placeholder says what it is for on screen.
    box = h('textarea', 'ebw-textarea');
    box.id = 'ebw-message';
    box.name = 'message';
    box.rows = 1;
    box.placeholder = 'Your question';
    box.setAttribute('aria-describedby', 'ebw-hint');
    var row = h('div', 'ebw-row');
    var hint = h('p', 'ebw-hint');
    hint.id = 'ebw-hint';
    // Shown only near the limit (updateCounter).
    counter = h('span', 'ebw-counter', '0 / ' + MAX);
    counter.hidden = true;
    limitNote = h('span', 'ebw-limit');
    hint.appendChild(counter);
    hint.appendChild(document.createTextNode(' '));
    hint.appendChild(limitNote);
    hint.appendChild(document.createTextNode(' '));
    if (!TOUCH) { hint.appendChild(h('span', 'ebw-keys', 'Enter sends, Shift+Enter adds a new line.')); }
    sendButton = h('button', 'ebw-send', 'Send');
    sendButton.type = 'submit';
    row.appendChild(box);
    row.appendChild(sendButton);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      send(box.value, true);
    });
    box.addEventListener('input', function () {
      updateCounter();
      if (!errorBox.hidden && !errorSticky && box.value.trim()) { clearError(); }
    });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !TOUCH && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey &&
          !e.isComposing) {
        e.preventDefault();
        send(box.value, true);
      }
    });
    return form;
  }

  /* ---- Open, close, focus trap ------------------------------------------------------ */

  function focusables() {
    var nodes = panel.querySelectorAll('a[href], button, textarea, input, select, [tabindex]');
    var out = [];
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (n.disabled || n.tabIndex < 0 || !n.getClientRects().length) { continue; }
      out.push(n);
    }
    return out;
  }

  function focusInitial() {
    if (box && !box.disabled) { box.focus(); } else { closeButton.focus(); }
  }

  function open() {
    if (isOpen) { return; }
    isOpen = true;
    if (ALLOWED) { saved.open = true; saveConversation(); }
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    host.classList.add('ebw-is-open');
    followViewport();
    if (box) { fitBox(); }
    scrollRestored();
    focusInitial();
  }

  function close() {
    if (!isOpen) { return; }
    isOpen = false;
    if (ALLOWED) { saved.open = false; saveConversation(); }
    panel.classList.remove('ebw-panel--kept');
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    host.classList.remove('ebw-is-open');
    launcher.focus();
  }

  function onKeydown(e) {
    if (!isOpen) { return; }
    if (e.key === 'Escape' || e.key === 'Esc') {
      e.preventDefault();
      e.stopPropagation();
      close();
      return;
    }
    if (e.key !== 'Tab') { return; }
    var items = focusables();
    if (!items.length) { e.preventDefault(); return; }
    var first = items[0];
    var last = items[items.length - 1];
    var active = root.activeElement;
    var inside = active && panel.contains(active);
    if (e.shiftKey && (!inside || active === first)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (!inside || active === last)) {
      e.preventDefault();
      first.focus();
    }
  }

  // Modal: if focus leaves the widget while it is open (mouse, assistive tech), bring it back.
  function onDocumentFocus(e) {
    if (isOpen && e.target !== host) { focusInitial(); }
  }

  /* ---- Counter, errors, announcements ----------------------------------------------- */

  // One line to start with, as many as the text needs up to widget.css's max-height.
  function fitBox() {
    if (!box.getClientRects().length) { return; }   // not shown yet: measured on open
    box.style.height = 'auto';
    var cs = getComputedStyle(box);
    var borders = parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
    box.style.height = (box.scrollHeight + borders) + 'px';
  }

  // The part of the window the visitor can see: with the on-screen keyboard open it is
  // the visualViewport, which shrinks where the host page does not (Safari, and Chrome
  // unless the host opts in). The panel is sized to it: --ebw-vvh its height, --ebw-vvtop
  // where it starts, --ebw-kb how much the keyboard covers. Pinch zoom is left alone.
  function followViewport() {
    if (!host) { return; }
    var vv = window.visualViewport;
    if (vv && vv.scale > 1.01) { return; }
    var height = vv ? vv.height : window.innerHeight;
    var top = vv ? Math.max(0, vv.offsetTop) : 0;
    var covered = vv ? window.innerHeight - vv.height - vv.offsetTop : 0;
    host.style.setProperty('--ebw-vvh', Math.round(height) + 'px');
    host.style.setProperty('--ebw-vvtop', Math.round(top) + 'px');
    host.style.setProperty('--ebw-kb', Math.max(0, Math.round(covered)) + 'px');
  }

  function updateCounter() {
    var n = box.value.length;
    var state = n > MAX ? 'over' : (n >= WARN_AT ? 'warn' : '');
    // Only near the limit: far from it, a number would only take room.
    counter.hidden = state === '';
    counter.textContent = n + ' / ' + MAX;
    counter.className = 'ebw-counter' + (state ? ' is-' + state : '');
    limitNote.className = 'ebw-limit' + (state ? ' is-' + state : '');
    if (state === 'over') {
      var extra = n - MAX;
      limitNote.textContent = 'Too long: please remove ' + extra +
        (extra === 1 ? ' character.' : ' characters.');
      box.setAttribute('aria-invalid', 'true');
    } else {
      limitNote.textContent = state === 'warn' ? (MAX - n) + ' characters left.' : '';
      box.removeAttribute('aria-invalid');
    }
    sendButton.disabled = sending || state === 'over';
    if (isOpen) { fitBox(); }
  }

  var announceTimer = null;
  function announce(text) {
    live.textContent = '';
    if (announceTimer) { clearTimeout(announceTimer); }
    announceTimer = setTimeout(function () { live.textContent = text; }, 60);
  }

  // Whenever a message could not be answered, the crisis contacts show with the error:
  // the person may have written because they need help now (not for an empty box).
  // A failure stays until the next send; a problem with the text goes once it is edited.
  var errorSticky = false;
  function showError(text, withContacts, sticky) {
    errorText.textContent = text;
    crisisBox.hidden = withContacts === false || !contacts.length;
    errorSticky = sticky !== false;
    errorBox.hidden = false;
  }

  function clearError() {
    errorText.textContent = '';
    crisisBox.hidden = true;
    errorSticky = false;
    errorBox.hidden = true;
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
      var d = body && body.detail;
      if (typeof d === 'string') { return d; }
      if (Array.isArray(d)) {
        return d.map(function (x) { return x && x.msg ? String(x.msg) : ''; })
          .filter(Boolean).join(' ');
      }
    } catch (e) { /* not JSON */ }
    return '';
  }

  async function errorFor(response, text) {
    var s = response.status;
    if (s === 429) { return retryMessage(response.headers.get('Retry-After')); }
    if (s === 403) { return MSG_DISABLED; }
    if (s === 413) { return MSG_TOO_LONG; }
    if (s === 400 || s === 422) {
      if (text.length > MAX) { return MSG_TOO_LONG; }
      var detail = (await readDetail(response)).replace(/^[\w.]+:\s*/, '');
      return 'We couldn\u2019t send that question' +
        (detail && detail.length < 200 ? ' (' + detail + ')' : '') +
        '. Please check it and try again.';
    }
    return MSG_DOWN;
  }

  /* ---- Rendering replies ------------------------------------------------------------ */

  function statusOf(reply) {
    var s = typeof reply.status === 'string' ? reply.status.replace(/[^a-z_]/gi, '') : '';
    return s || 'unknown';
  }

  function makeBadge(level) {
    var badge = h('p', 'badge');
    badge.appendChild(h('span', 'badge-label', 'Evidence level:'));
    badge.appendChild(document.createTextNode(' '));
    badge.appendChild(h('span', 'badge-value', level));
    return badge;
  }

  // `kept`: the stored exchange this reply belongs to (its vote is remembered).
  function renderReply(reply, kept) {
    var status = statusOf(reply);
    var level = typeof reply.evidence_level === 'string' && reply.evidence_level
      ? reply.evidence_level : '';
    var wrap = h('div', 'reply reply--' + status + (level ? ' has-badge' : ''));
    wrap.setAttribute('data-status', status);
    wrap.appendChild(h('span', 'ebw-visually-hidden', 'Answer:'));

    var body = h('div', 'reply-body');
    if (typeof reply.html === 'string' && reply.html) {
      // `reply.html` is escaped server-side by the bot (every corpus and user string);
      // it is the ONLY value this widget ever assigns to innerHTML.
      body.innerHTML = reply.html;
    } else {
      body.appendChild(h('p', 'plain', reply.answer || ''));
      if (reply.disclaimer) { body.appendChild(h('p', 'disclaimer', reply.disclaimer)); }
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
    // Links leave the host page alone: assessment pages open in a new tab.
    var links = body.querySelectorAll('a[href]');
    for (var i = 0; i < links.length; i++) {
      if (!/^https?:/i.test(links[i].getAttribute('href') || '')) { continue; }
      links[i].target = '_blank';
      links[i].rel = 'noopener noreferrer';
      links[i].appendChild(h('span', 'ebw-visually-hidden', ' (opens in a new tab)'));
    }
    wrap.appendChild(body);

    var suggestions = Array.isArray(reply.suggestions) ? reply.suggestions : [];
    if (suggestions.length) {
      var clarify = status === 'clarify';
      var sugg = h('div', 'suggestions' + (clarify ? ' suggestions--options' : ''));
      // A clarify's chips answer its question: no title of their own.
      if (!clarify) { sugg.appendChild(h('p', 'suggestions-title', 'You could ask:')); }
      var chips = h('ul', 'chips');
      if (clarify) { chips.setAttribute('aria-label', 'Options'); }
      suggestions.forEach(function (s) {
        var li = h('li');
        var chip = h('button', 'chip', s);
        chip.type = 'button';
        li.appendChild(chip);
        chips.appendChild(li);
      });
      sugg.appendChild(chips);
      // A clarify's options go right under its question, above the disclaimer.
      var disclaimer = clarify ? body.querySelector(':scope > .disclaimer') : null;
      if (disclaimer) { body.insertBefore(sugg, disclaimer); } else { wrap.appendChild(sugg); }
    }
    if (reply.answer_id && !NO_FEEDBACK[status] && !(kept && kept.voted)) {
      wrap.appendChild(buildFeedback(String(reply.answer_id), kept));
    }
    return wrap;
  }

  function summary(reply) {
    var paras = String(reply.answer || '').split(/\r?\n[ \t]*\r?\n/);
    var first = '';
    for (var i = 0; i < paras.length; i++) {
      if (paras[i].trim()) { first = paras[i].trim(); break; }
    }
    var text = 'Answer: ' + first;
    if (reply.evidence_level) { text += ' Evidence level: ' + reply.evidence_level + '.'; }
    return text;
  }

  /* ---- Feedback --------------------------------------------------------------------- */

  // Thumbs as inline SVG (no emoji font needed), hidden from screen readers: the
  // accessible names are "Yes, helpful" and "No, not helpful".
  var THUMB_UP = 'M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3';
  var THUMB_DOWN = 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17';

  function feedbackButton(className, path, visible, hidden) {
    var b = h('button', 'feedback-btn ' + className);
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
    b.appendChild(h('span', null, visible));
    b.appendChild(h('span', 'ebw-visually-hidden', hidden));
    return b;
  }

  async function postFeedback(answerId, helpful, comment) {
    var response;
    try {
      response = await fetch(BASE + '/api/feedback', {
        method: 'POST',
        mode: 'cors',
        credentials: 'omit',
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
    if (response.status === 403) { return MSG_DISABLED; }
    if (response.status === 422 || response.status === 413) {
      return 'Please keep your comment under 1000 characters.';
    }
    return 'Your feedback couldn\u2019t be sent right now. Please try again later.';
  }

  function buildFeedback(answerId, kept) {
    var n = ++feedbackCount;
    var helpful = null;
    var wrap = h('div', 'feedback');
    var row = h('div', 'feedback-row');
    row.setAttribute('role', 'group');
    var q = h('p', 'feedback-question', 'Was this helpful?');
    q.id = 'ebw-feedback-q-' + n;
    row.setAttribute('aria-labelledby', q.id);
    var yes = feedbackButton('feedback-yes', THUMB_UP, 'Yes', ', helpful');
    var no = feedbackButton('feedback-no', THUMB_DOWN, 'No', ', not helpful');
    row.appendChild(q);
    row.appendChild(yes);
    row.appendChild(no);
    wrap.appendChild(row);

    var more = h('div', 'feedback-more');
    more.hidden = true;
    var comment = h('textarea', 'feedback-comment');
    comment.id = 'ebw-feedback-comment-' + n;
    comment.rows = 2;
    comment.maxLength = 1000;
    var label = h('label', null, 'Anything you\u2019d like to add? (optional)');
    label.htmlFor = comment.id;
    var sendFb = h('button', 'feedback-send', 'Send comment');
    sendFb.type = 'button';
    var status = h('p', 'feedback-status');
    status.setAttribute('role', 'status');
    more.appendChild(label);
    more.appendChild(comment);
    more.appendChild(sendFb);
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

    sendFb.addEventListener('click', async function () {
      if (helpful === null || sendFb.disabled) { return; }
      sendFb.disabled = true;
      status.classList.remove('is-error');
      status.textContent = 'Sending\u2026';
      var error = await postFeedback(answerId, helpful, comment.value.trim().slice(0, 1000));
      if (!error) {
        wrap.textContent = '';
        var thanks = h('p', 'feedback-thanks', 'Thank you for your feedback and your comment.');
        thanks.setAttribute('role', 'status');
        thanks.tabIndex = -1;
        wrap.appendChild(thanks);
        thanks.focus();
        return;
      }
      sendFb.disabled = false;
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
    var full = conversation.querySelectorAll('.reply-body > .disclaimer:not(.disclaimer--short)');
    var prev = null;
    for (var i = full.length - 1; i >= 0; i--) {
      if (full[i] !== line && (full[i].compareDocumentPosition(line) & 4)) { prev = full[i]; break; }
    }
    if (!prev) { return; }
    var gap = line.getBoundingClientRect().top - prev.getBoundingClientRect().bottom;
    if (gap >= screenPx) { return; }
    line.classList.add('disclaimer--short');
    line.id = line.id || 'ebw-' + 'disclaimer-' + (++disclaimerCount);
    var toggle = h('button', 'disclaimer-toggle', SHOW_FULL);
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

  /* ---- Sending ---------------------------------------------------------------------- */

  function scrollToItem(node) {
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
    // Scroll the panel's log only: scrollIntoView would scroll the host page as well.
    log.scrollTo({ top: Math.max(0, top - 8), behavior: reduce ? 'auto' : 'smooth' });
  }

  function onConversationClick(e) {
    var chip = e.target && e.target.closest ? e.target.closest('button.chip') : null;
    if (chip) { send(chip.textContent, false); }
  }

  async function send(raw, fromBox) {
    if (sending || !ALLOWED) { return; }
    var text = String(raw || '').trim();
    if (!text) { showError(MSG_EMPTY, false, false); box.focus(); return; }
    if (text.length > MAX) { showError(MSG_TOO_LONG, true, false); box.focus(); return; }

    clearError();
    sending = true;
    form.setAttribute('aria-busy', 'true');
    updateCounter();

    var asked = new Date().toISOString();
    var item = exchangeItem(text, asked);
    conversation.appendChild(item);
    typing.hidden = false;
    announce('Looking this up\u2026');
    scrollToItem(item);
    if (fromBox) { box.value = ''; updateCounter(); }

    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    try {
      var response;
      try {
        response = await fetch(BASE + '/api/chat', {
          method: 'POST',
          mode: 'cors',
          credentials: 'omit',
          headers: {
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            'X-Evidence-Channel': 'widget'
          },
          signal: controller ? controller.signal : undefined,
          // The visitor's locale picks an urgent reply's crisis contacts (a malformed
          // data-locale is left out: the server would refuse the question).
          body: JSON.stringify({ message: text, session_id: storageGet(), locale: API_LOCALE })
        });
      } catch (netErr) {
        var aborted = netErr && netErr.name === 'AbortError';
        throw new Error(aborted ? MSG_SLOW : (navigator.onLine === false ? MSG_OFFLINE : MSG_DOWN));
      }
      if (!response.ok) { throw new Error(await errorFor(response, text)); }
      var reply;
      try { reply = await response.json(); } catch (e) { reply = null; }
      if (!reply || typeof reply !== 'object') { throw new Error(MSG_DOWN); }
      if (reply.session_id) { storageSet(String(reply.session_id)); }

      var kept = { q: text, t: asked, r: keptReply(reply), voted: false };
      saved.exchanges.push(kept);
      saveConversation();
      showStarted();
      item.appendChild(renderReply(reply, kept));
      compactDisclaimer(item.querySelector('.reply'), log.clientHeight);
      typing.hidden = true;
      announce(summary(reply));
      scrollToItem(item);
    } catch (err) {
      typing.hidden = true;
      conversation.removeChild(item);
      if (!box.value) { box.value = text; updateCounter(); }
      var msg = (err && err.message) || MSG_DOWN;
      announce('');
      showError(msg);
    } finally {
      if (timer) { clearTimeout(timer); }
      sending = false;
      form.setAttribute('aria-busy', 'false');
      updateCounter();
      if (isOpen && !root.activeElement) { box.focus({ preventScroll: true }); }
    }
  }

  if (document.body) {
    build();
  } else {
    document.addEventListener('DOMContentLoaded', build);
  }
}());
