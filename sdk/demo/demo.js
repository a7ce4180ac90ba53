// The demo chat widget: a small but real widget instrumented with widget-monitor.js.
// Every call to WidgetMonitor below is one of the README's usage examples, in context.
(function () {
  'use strict';

  var WM = window.WidgetMonitor;
  var STORE_KEY = 'demo-widget:conversation';
  var NAV_KEY = 'demo-widget:navigation';
  var page = document.body.getAttribute('data-page');
  var list = document.getElementById('messages');
  var input = document.getElementById('input');
  var conversation = { id: 'conv-' + Date.now().toString(36), messages: [] };
  var counter = 0;

  // ------------------------------------------------------------- markdown

  function escapeHtml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  function inline(s) {
    return s
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|[^*])\*([^*]+)\*/g, '$1<em>$2</em>')
      .replace(/_([^_]+)_/g, '<em>$1</em>')
      .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" rel="noopener">$1</a>');
  }

  function renderMarkdown(source) {
    var html = '';
    var parts = escapeHtml(source).split(/```/);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var code = part.replace(/^[\w-]*\n/, '');
        html += '<pre><code>' + code.replace(/\n$/, '') + '</code></pre>';
      } else {
        part.split(/\n{2,}/).forEach(function (para) {
          if (para.trim()) html += '<p>' + inline(para.trim()).replace(/\n/g, '<br>') + '</p>';
        });
      }
    });
    return html;
  }

  // ------------------------------------------------------------- rendering

  function renderMessage(message) {
    var start = performance.now();
    var el = document.createElement('div');
    el.className = 'message ' + message.role;
    el.setAttribute('data-id', message.id);
    el.innerHTML = renderMarkdown(message.content);
    list.appendChild(el);
    el.getBoundingClientRect(); // include layout in the render time
    WM.trackRender({
      messageId: message.id,
      renderTime: performance.now() - start,
      contentLength: message.content.length,
      hasMarkdown: /[*_`]/.test(message.content),
      hasCodeBlocks: /```/.test(message.content),
      timestamp: new Date(),
    });
  }

  function renderAll() {
    list.textContent = '';
    conversation.messages.forEach(renderMessage);
    list.scrollTop = list.scrollHeight;
  }

  // ------------------------------------------------------------- persistence

  function saveConversation() {
    var start = performance.now();
    try {
      var data = JSON.stringify(conversation);
      localStorage.setItem(STORE_KEY, data);
      WM.trackPersistence({
        operation: 'save',
        success: true,
        duration: performance.now() - start,
        timestamp: new Date(),
        conversationId: conversation.id,
        metadata: { messageCount: conversation.messages.length, storageType: 'localStorage', dataSize: data.length },
      });
    } catch (error) {
      WM.trackPersistence({
        operation: 'save',
        success: false,
        duration: performance.now() - start,
        timestamp: new Date(),
        conversationId: conversation.id,
        errorType: error.name,
        errorMessage: error.message,
      });
    }
  }

  function readStored() {
    var data = localStorage.getItem(STORE_KEY);
    return data ? JSON.parse(data) : null;
  }

  // "Reload from storage": a persistence restore, then the messages rendered again.
  function reloadConversation() {
    var start = performance.now();
    try {
      var stored = readStored();
      if (stored) conversation = stored;
      WM.trackPersistence({
        operation: 'restore',
        success: true,
        duration: performance.now() - start,
        timestamp: new Date(),
        conversationId: conversation.id,
        metadata: { messageCount: conversation.messages.length, storageType: 'localStorage' },
      });
      renderAll();
    } catch (error) {
      WM.trackPersistence({
        operation: 'restore',
        success: false,
        duration: performance.now() - start,
        timestamp: new Date(),
        errorType: error.name,
        errorMessage: error.message,
      });
    }
  }

  function clearConversation() {
    var start = performance.now();
    localStorage.removeItem(STORE_KEY);
    conversation = { id: 'conv-' + Date.now().toString(36), messages: [] };
    list.textContent = '';
    WM.trackPersistence({ operation: 'clear', success: true, duration: performance.now() - start, timestamp: new Date() });
  }

  // On every page load: restore the session, and if we arrived by "switching page",
  // say whether the conversation made it across.
  function restoreSession() {
    var arrival = null;
    try {
      arrival = JSON.parse(sessionStorage.getItem(NAV_KEY) || 'null');
      sessionStorage.removeItem(NAV_KEY);
    } catch (e) {
      arrival = null;
    }
    var start = performance.now();
    var stored = null;
    var ok = true;
    try {
      stored = readStored();
    } catch (e) {
      ok = false;
    }
    if (stored) conversation = stored;
    renderAll();
    if (stored || !ok) {
      WM.trackRestoration({
        success: ok,
        duration: performance.now() - start,
        messagesRestored: conversation.messages.length,
        timestamp: new Date(),
      });
    }
    if (arrival) {
      WM.trackNavigation({
        success: ok,
        dataPreserved: ok && conversation.messages.length >= arrival.messageCount,
        duration: Date.now() - arrival.leftAt,
        fromPage: arrival.from,
        toPage: page,
        timestamp: new Date(),
      });
    }
  }

  function switchPage(event) {
    var link = event.currentTarget;
    event.preventDefault();
    saveConversation();
    sessionStorage.setItem(
      NAV_KEY,
      JSON.stringify({ from: page, to: link.getAttribute('data-page'), leftAt: Date.now(), messageCount: conversation.messages.length })
    );
    location.href = link.href;
  }

  // ------------------------------------------------------------- chat

  function nextId(role) {
    counter += 1;
    return role + '-' + Date.now().toString(36) + '-' + counter;
  }

  // The "bot" asks this server how it is, through the instrumented fetch.
  function botReply(text) {
    return WM.fetch('/healthz', { headers: { Accept: 'application/json' } })
      .then(function (response) { return response.json(); })
      .then(function (health) {
        var code = text.match(/```[\s\S]*?```/);
        var answer = 'You said: **' + text.replace(/```[\s\S]*?```/g, '(code)').replace(/\*/g, '').trim().slice(0, 200) + '**';
        if (code) answer += '\n\nHere is your code back:\n\n' + code[0];
        return answer + '\n\nServer status: `' + health.status + '`, ' + health.eventsCommitted + ' events committed.';
      })
      .catch(function (error) { return 'The server did not answer (' + error.message + ').'; });
  }

  function send(text) {
    var user = { id: nextId('user'), role: 'user', content: text };
    conversation.messages.push(user);
    renderMessage(user);
    list.scrollTop = list.scrollHeight;
    return botReply(text).then(function (answer) {
      var bot = { id: nextId('bot'), role: 'bot', content: answer };
      conversation.messages.push(bot);
      renderMessage(bot);
      list.scrollTop = list.scrollHeight;
      saveConversation();
      return WM.measureTabSync(); // resolves at once when no other tab is open
    });
  }

  // ------------------------------------------------------------- wiring

  var pending = Promise.resolve();
  window.demoWidget = {
    idle: function () { return pending; }, // tests wait on this after sending
    messageCount: function () { return conversation.messages.length; },
  };

  document.getElementById('composer').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    pending = pending.then(function () { return send(text); });
  });
  input.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      document.getElementById('composer').requestSubmit();
    }
  });
  document.getElementById('save').addEventListener('click', saveConversation);
  document.getElementById('restore').addEventListener('click', reloadConversation);
  document.getElementById('clear').addEventListener('click', clearConversation);
  document.getElementById('new-tab').addEventListener('click', function () {
    window.open(location.href, '_blank');
  });
  Array.prototype.forEach.call(document.querySelectorAll('a.switch-page'), function (link) {
    link.href = link.href + location.search; // keep the demo's settings (customerId, ...)
    link.addEventListener('click', switchPage);
  });

  WM.observeScroll(list, { idleMs: 150, messageCount: function () { return conversation.messages.length; } });
  var stats = WM.getStats();
  document.getElementById('monitor-state').textContent = stats.enabled
    ? 'monitored · tab ' + stats.tabId.slice(0, 8)
    : 'monitoring off';
  restoreSession();
})();
