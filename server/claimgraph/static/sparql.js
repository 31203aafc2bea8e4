// The query page's example picker (a file, not inline: the CSP allows no inline script).
// Progressive: pick an example into the editor without running it (the links run it).
(function () {
  var pick = document.getElementById("example-pick");
  if (!pick) return;
  pick.hidden = false;
  pick.addEventListener("change", function () {
    var t = document.getElementById("example-" + pick.value);
    if (t) document.getElementById("query").value = t.content.textContent;
  });
})();
