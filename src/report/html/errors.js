(function () {
  var root = document.documentElement;
  function record(message) {
    var before = root.getAttribute("data-errors");
    root.setAttribute("data-errors", (before ? before + "\n" : "") + String(message));
  }
  window.addEventListener("error", function (event) { record(event.message || "error"); });
  window.addEventListener("unhandledrejection", function (event) { record("unhandled rejection: " + event.reason); });
  var original = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
