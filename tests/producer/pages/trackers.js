// Test doubles of Umami's tracker (window.umami) and of a browser that refuses sessionStorage.
// A classic script: it runs before the page's modules, like Umami's own <script defer>.
(function () {
  'use strict';
  var calls = (window.__umamiCalls = []);

  function record(name, args) {
    calls.push({
      name: name,
      // a copy, as the tracker would serialize it, plus the data's own keys (JSON drops undefined)
      args: JSON.parse(JSON.stringify(args)),
      dataKeys: args[1] !== null && typeof args[1] === 'object' ? Object.keys(args[1]) : null,
      url: location.pathname,
    });
  }

  var trackers = {
    recording: function () {
      return {
        identify: function () { record('identify', Array.prototype.slice.call(arguments)); return Promise.resolve(); },
        track: function () { record('track', Array.prototype.slice.call(arguments)); return Promise.resolve(); },
      };
    },
    throwing: function () {
      return {
        identify: function () { record('identify', Array.prototype.slice.call(arguments)); throw new Error('identify blocked'); },
        track: function () { record('track', Array.prototype.slice.call(arguments)); throw new Error('track blocked'); },
      };
    },
    'throwing-track': function () {
      return {
        identify: function () { record('identify', Array.prototype.slice.call(arguments)); return Promise.resolve(); },
        track: function () { record('track', Array.prototype.slice.call(arguments)); throw new Error('track blocked'); },
      };
    },
    rejecting: function () {
      return {
        identify: function () { record('identify', Array.prototype.slice.call(arguments)); return Promise.resolve(); },
        track: function () { record('track', Array.prototype.slice.call(arguments)); return Promise.reject(new Error('send failed')); },
      };
    },
    stub: function () { return {}; }, // what some blockers leave behind
    none: function () { return undefined; },
  };

  /** Replace window.umami with a fresh tracker of this kind (the tests call it too). */
  window.__installTracker = function (kind) {
    var tracker = trackers[kind]();
    if (tracker === undefined) delete window.umami;
    else window.umami = tracker;
  };

  var params = new URLSearchParams(location.search);
  window.__installTracker(params.get('tracker') || 'recording');

  var storage = params.get('storage') || 'ok';
  if (storage === 'refused') {
    // As in a sandboxed frame or a privacy mode: reading window.sessionStorage throws.
    Object.defineProperty(window, 'sessionStorage', {
      configurable: true,
      get: function () { throw new DOMException('The operation is insecure.', 'SecurityError'); },
    });
  } else if (storage === 'full') {
    Storage.prototype.setItem = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  }
})();
