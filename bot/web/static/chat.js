/* Progressive enhancement for the chat page (/) and the iframe page (/embed).
   Without this script the page is a plain form post to /chat. With it, questions go to
   /api/chat as JSON, a typing indicator shows while waiting, errors are explained with
   the crisis contacts the page carries, and each answer but a crisis or a clarifying
   question gets a feedback control: all of that is the chat core (chat-core.js, loaded
   before this file), shared with the widget. Here: the page's own elements, its typing
   region, its tools (print or save, a new conversation) and the conversation kept for
   the tab. Text is always set with textContent. */
(function () {
  'use strict';

  var form = document.getElementById('chat-form');
  var box = document.getElementById('message');
  var conversation = document.getElementById('conversation');
  // Without the core (it failed to load) the page stays the plain form.
  if (!form || !box || !conversation || typeof chatCore !== 'function') { return; }

  document.documentElement.classList.add('js');

  var log = document.getElementById('log');
  var typing = document.getElementById('typing');
  var sessionInput = form.querySelector('input[name="session_id"]');
  var sendButton = form.querySelector('button.send');

  var core = chatCore({
    credentials: 'same-origin',
    channel: document.body.classList.contains('page-embed') ? 'embed' : 'page',
    maxLength: parseInt(form.getAttribute('data-max-length'), 10) ||
      parseInt(box.getAttribute('maxlength'), 10) || 1000,
    // What is on screen, for this tab (the chat page and the iframe apart): shown again
    // after a reload or a visit to another page, with the session it continues.
    storageKey: 'evidence-chat:' + location.pathname,
    saved: { session: '', exchanges: [] },
    // Chips are the form's submit buttons, as without JavaScript.
    chipForm: 'chat-form',
    scrollWindow: true,
    typing: setTyping,
    session: function () { return sessionInput && sessionInput.value; },
    keepSession: function (id) {
      if (sessionInput && id) { sessionInput.value = id; }
      core.saved.session = sessionInput ? sessionInput.value : '';
    },
    forgetSession: function () {
      core.saved.session = '';
      if (sessionInput) { sessionInput.value = ''; }
    },
    started: showTools,
    lostFocus: function () {
      var act = document.activeElement;
      return !act || act === document.body || act === sendButton || act === box;
    }
  });
  var el = core.el;
  core.attach({
    form: form,
    box: box,
    sendButton: sendButton,
    counter: document.getElementById('counter'),
    limitNote: document.getElementById('limit-note'),
    log: log,
    conversation: conversation,
    live: document.getElementById('chat-live'),
    errorBox: document.getElementById('chat-error'),
    errorText: document.getElementById('chat-error-text'),
    // The locale's crisis contacts, rendered into the page by the server (hidden): an
    // error state shows them without a request, so they work offline too.
    crisisBox: document.getElementById('crisis-help'),
    viewport: document.documentElement
  });

  // The counter shows the limit instead of the browser silently cutting pasted text.
  box.removeAttribute('maxlength');
  // No "Enter sends" hint on a touch screen: its Enter adds a line.
  var hints = document.querySelectorAll('.js-hint');
  for (var i = 0; i < hints.length; i++) { hints[i].hidden = core.TOUCH; }

  // The iframe's panel takes --vvh; the pinned question box sits above --kb.
  core.watchViewport();

  // The typing region is a live region of its own: "Looking this up" is announced.
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

  core.listen();

  // Replies rendered by the server (no-JS post, or a reload) get the same enhancements.
  var existing = conversation.querySelectorAll('.reply');
  for (var r = 0; r < existing.length; r++) { core.enhanceReply(existing[r]); }

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
    printHead.textContent = core.printHeadText(site ? site.textContent.trim() : document.title);
    printEnd.textContent = '';
    core.disclaimerTexts(conversation).forEach(function (text) {
      printEnd.appendChild(el('p', null, text));
    });
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
  newButton.addEventListener('click', core.newConversation);

  // The conversation this tab had, unless the server rendered one (a no-JS post).
  var kept = core.load();
  if (kept) { core.saved.session = typeof kept.session === 'string' ? kept.session : ''; }
  if (!existing.length && core.saved.exchanges.length) {
    if (sessionInput && core.saved.session) { sessionInput.value = core.saved.session; }
    core.saved.exchanges.forEach(function (x) {
      var item = core.restore(x);
      conversation.appendChild(item);
      core.compactDisclaimer(item.querySelector('.reply'), core.screenHeight());
    });
    if (log && log.scrollHeight > log.clientHeight + 1 && core.logScrolls()) {
      log.scrollTop = log.scrollHeight;
    }
  } else if (existing.length) {
    core.saved.session = sessionInput ? sessionInput.value : '';
    core.saved.exchanges = [];
  }
  showTools();

  core.updateCounter();
}());
