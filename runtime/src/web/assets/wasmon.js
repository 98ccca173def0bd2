// wasmon status page: keeps the selection of rows across live swaps,
// shows the state of the live connection, and keeps the title and the
// favicon in step with the header. No inline script: the page's
// Content-Security-Policy allows none.
(function () {
  "use strict";
  var selected = new Set();

  function restore(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var boxes = root.matches && root.matches("input[name=obj]") ? [root] : root.querySelectorAll("input[name=obj]");
    boxes.forEach(function (box) {
      box.checked = selected.has(box.value);
    });
  }

  function follow(summary) {
    var title = summary.getAttribute("data-title");
    var worst = summary.getAttribute("data-worst");
    if (title) {
      document.title = title;
    }
    var icon = document.getElementById("favicon");
    if (icon && worst) {
      icon.setAttribute("href", "/web/favicon/" + worst.toLowerCase() + ".svg");
    }
  }

  function connection(text, state) {
    var live = document.getElementById("live");
    if (live) {
      live.textContent = text;
      live.className = "live " + state;
    }
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.name === "obj") {
      if (t.checked) {
        selected.add(t.value);
      } else {
        selected.delete(t.value);
      }
    } else if (t.id === "select-all") {
      document.querySelectorAll("input[name=obj]").forEach(function (box) {
        box.checked = t.checked;
        if (t.checked) {
          selected.add(box.value);
        } else {
          selected.delete(box.value);
        }
      });
    }
  });

  // A row swapped from the stream: restore its selection at once. htmx
  // fires htmx:load only when the swap settles (20 ms on), which would
  // show the row unselected in between.
  document.addEventListener("htmx:sseMessage", function (e) {
    var id = e.target && e.target.id;
    if (id) {
      restore(document.getElementById(id));
    }
  });

  document.addEventListener("htmx:load", function (e) {
    var elt = e.detail.elt;
    restore(elt);
    if (elt.id === "summary") {
      follow(elt);
    }
  });

  document.addEventListener("htmx:sseOpen", function () {
    connection("live", "ok");
  });

  document.addEventListener("htmx:sseError", function () {
    connection("connection lost, reconnecting…", "lost");
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[name=obj]:checked").forEach(function (box) {
      selected.add(box.value);
    });
    connection("connecting…", "wait");
  });
})();
