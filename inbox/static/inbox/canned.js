(function () {
  var canned = JSON.parse(document.getElementById("inbox-canned").textContent);
  var select = document.querySelector(".reply-form select[name=canned]");
  var text = document.querySelector(".reply-form textarea[name=text]");
  if (select && text) { select.addEventListener("change", function () {
    if (canned[select.value]) { text.value = (text.value ? text.value + "\n" : "") + canned[select.value]; }
  }); }
})();
