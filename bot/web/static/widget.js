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
 * The conversation itself (rendering replies, feedback, the counter, errors, sending)
 * is the chat core shared with the chat page: the server puts static/chat-core.js
 * where CHAT_CORE stands below when it serves this file. Here: the launcher, the panel
 * in its Shadow DOM, opening and closing it, the accent colour and the crisis contacts
 * of another locale.
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

  /*CHAT_CORE*/

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
  var STORAGE_KEY = 'evidence-bot-session:' + BASE;
  var CRISIS_KEY = 'evidence-bot-crisis:' + BASE + ':' + OPTIONS.locale;
  // Sent with each question when it has the shape /api/chat accepts (else left out).
  var API_LOCALE = OPTIONS.locale.length <= 35 &&
    /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(OPTIONS.locale) ? OPTIONS.locale : undefined;

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

  var host, root, launcher, panel, closeButton, newButton, log, conversation, typing, live,
    errorBox, errorText, crisisBox, crisisList, form, box, counter, limitNote, sendButton,
    startersBox, printButton;
  var isOpen = false;
  var openKnown = false;   // the visitor opened or closed it in this tab: data-open yields

  var core = chatCore({
    prefix: 'ebw-',
    base: BASE,
    credentials: 'omit',
    channel: 'widget',
    maxLength: MAX,
    // What is on screen, for this tab: the exchanges and whether the panel is open, so a
    // follow-up asked on the next page of the site is answered about what the person sees.
    storageKey: 'evidence-bot-conversation:' + BASE,
    saved: { open: false, exchanges: [] },
    // The visitor's locale picks an urgent reply's crisis contacts.
    locale: API_LOCALE,
    lang: function () { return panel.getAttribute('lang'); },
    typing: function (on) {
      typing.hidden = !on;
      core.announce(on ? 'Looking this up\u2026' : '');
    },
    session: storageGet,
    keepSession: function (id) { if (id) { storageSet(id); } },
    forgetSession: function () {
      try { window.sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* private mode */ }
    },
    started: showStarted,
    lostFocus: function () { return isOpen && !root.activeElement; },
    enabled: function () { return ALLOWED; }
  });
  var h = core.el;
  var icon = core.icon;
  var saved = core.saved;

  function storageGet() {
    try { return window.sessionStorage.getItem(STORAGE_KEY) || null; } catch (e) { return null; }
  }

  function storageSet(value) {
    try { window.sessionStorage.setItem(STORAGE_KEY, value); } catch (e) { /* private mode */ }
  }

  // The exchanges kept, and whether the panel was open (saved.open).
  function loadConversation() {
    var data = core.load();
    if (data) {
      saved.open = data.open === true;
      openKnown = typeof data.open === 'boolean';
    }
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
      if (isOpen) { core.fitBox(); }
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
    }
    core.attach({
      form: form,
      box: box,
      sendButton: sendButton,
      counter: counter,
      limitNote: limitNote,
      log: log,
      conversation: conversation,
      live: live,
      errorBox: errorBox,
      errorText: errorText,
      crisisBox: crisisBox,
      viewport: host
    });
    if (ALLOWED) {
      loadConversation();
      saved.exchanges.forEach(function (x) { conversation.appendChild(core.restore(x)); });
      showStarted();
    } else {
      panel.classList.add('ebw-panel--off');
      var off = h('p', 'ebw-disabled', core.MSG_FORBIDDEN);
      off.setAttribute('role', 'note');
      log.insertBefore(off, conversation);
      // Not enabled here is a failure too: whoever opened it still gets the numbers.
      if (contacts.length) { crisisBox.hidden = false; log.insertBefore(crisisBox, conversation); }
    }

    shell.appendChild(panel);
    root.appendChild(shell);
    document.body.appendChild(host);
    // The panel takes the visible part of the window (--ebw-vvh and the rest).
    core.watchViewport();

    launcher.addEventListener('click', function () { if (isOpen) { close(); } else { open(); } });
    closeButton.addEventListener('click', close);
    newButton.addEventListener('click', newConversation);
    printButton.addEventListener('click', printConversation);
    shell.addEventListener('keydown', onKeydown);
    document.addEventListener('focusin', onDocumentFocus);
    // The form, the chips, the box and the connection (offline is an error state too).
    if (ALLOWED) { core.listen(); }
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
    for (var r = 0; r < replies.length; r++) {
      core.compactDisclaimer(replies[r], log.clientHeight);
    }
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
      core.showError('Your browser blocked the print window. Please allow pop-ups for this ' +
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
    head.textContent = core.printHeadText(OPTIONS.title);
    main.appendChild(head);
    var list = doc.createElement('ol');
    list.className = 'conversation';
    var items = conversation.querySelectorAll('.exchange');
    for (var i = 0; i < items.length; i++) {
      var copy = doc.importNode(items[i], true);
      var drop = copy.querySelectorAll('.feedback, .suggestions, button');
      for (var j = 0; j < drop.length; j++) { drop[j].parentNode.removeChild(drop[j]); }
      var hidden = copy.querySelectorAll('.ebw-visually-hidden');
      for (var k = 0; k < hidden.length; k++) { hidden[k].className = 'visually-hidden'; }
      var stamps = copy.querySelectorAll('.ebw-stamp');
      for (var n = 0; n < stamps.length; n++) { stamps[n].className = 'stamp'; }
      list.appendChild(copy);
    }
    main.appendChild(list);
    var end = doc.createElement('div');
    end.className = 'print-disclaimer';
    core.disclaimerTexts(list).forEach(function (text) {
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

  // Starts afresh (the core clears what the tab kept), at the top of the panel.
  function newConversation() {
    if (core.newConversation()) { log.scrollTop = 0; }
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
      var chips = core.makeChips(STARTERS);
      chips.setAttribute('aria-labelledby', title.id);
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
    // One line beside Send, growing with what is typed (the core); the label is the box's
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
    // Shown only near the limit (the core's updateCounter).
    counter = h('span', 'ebw-counter', '0 / ' + MAX);
    counter.hidden = true;
    limitNote = h('span', 'ebw-limit');
    hint.appendChild(counter);
    hint.appendChild(document.createTextNode(' '));
    hint.appendChild(limitNote);
    hint.appendChild(document.createTextNode(' '));
    // On a touch screen Enter adds a line and Send sends: no "Enter sends" hint there.
    if (!core.TOUCH) {
      hint.appendChild(h('span', 'ebw-keys', 'Enter sends, Shift+Enter adds a new line.'));
    }
    sendButton = h('button', 'ebw-send', 'Send');
    sendButton.type = 'submit';
    row.appendChild(box);
    row.appendChild(sendButton);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);
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
    if (ALLOWED) { saved.open = true; core.save(); }
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    host.classList.add('ebw-is-open');
    core.followViewport();
    core.fitBox();
    scrollRestored();
    focusInitial();
  }

  function close() {
    if (!isOpen) { return; }
    isOpen = false;
    if (ALLOWED) { saved.open = false; core.save(); }
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

  if (document.body) {
    build();
  } else {
    document.addEventListener('DOMContentLoaded', build);
  }
}());
