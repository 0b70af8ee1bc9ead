/* The on-site check form (checks/check_form.html): phone location into hidden fields, outcome colours,
   photo previews, a done counter and a single submit. Plain script, no framework. */
(function () {
  "use strict";
  var form = document.getElementById("check-form");
  if (!form) return;

  // 1. Location: one high-accuracy fix from the browser; the check is handed in without one if refused.
  var box = form.querySelector("[data-testid=location]");
  var text = box.querySelector(".location-text");
  function setField(name, value) { form.querySelector("input[name=" + name + "]").value = value; }
  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (pos) {
      setField("lng", pos.coords.longitude.toFixed(6));
      setField("lat", pos.coords.latitude.toFixed(6));
      setField("accuracy", Math.round(pos.coords.accuracy));
      text.textContent = box.dataset.found.replace("{accuracy}", Math.round(pos.coords.accuracy));
      box.classList.add("text-success");
    }, function () {
      text.textContent = box.dataset.denied;
      box.classList.add("text-warning");
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  } else {
    text.textContent = box.dataset.denied;
  }

  // 2. Outcome colours and the done counter.
  var items = form.querySelectorAll(".check-item");
  var counter = box.querySelector(".done-count");
  function refresh() {
    var done = 0;
    items.forEach(function (card) {
      var checked = card.querySelector("input[type=radio]:checked");
      card.classList.remove("is-pass", "is-fail", "is-na");
      if (checked) {
        done += 1;
        card.classList.add("is-" + checked.value);
      }
    });
    counter.textContent = done;
  }
  form.addEventListener("change", function (event) {
    if (event.target.type === "radio") refresh();
    if (event.target.type === "file") preview(event.target);
  });
  // a card marked incomplete on submit is cleared as soon as it is complete
  form.addEventListener("input", function (event) {
    var card = event.target.closest(".check-item");
    if (!card || !card.classList.contains("border-danger")) return;
    var checked = card.querySelector("input[type=radio]:checked");
    var note = card.querySelector("input[name^=note_]");
    if (checked && (checked.value !== "fail" || note.value.trim())) {
      card.classList.remove("border-danger");
      note.classList.remove("is-invalid");
    }
  });
  refresh();

  // 3. Thumbnails of the photos taken for an item.
  function preview(input) {
    var box = input.parentElement.querySelector(".photo-previews");
    box.innerHTML = "";
    Array.prototype.forEach.call(input.files, function (file) {
      if (!file.type || file.type.indexOf("image/") !== 0) return;
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      box.appendChild(img);
    });
  }

  // 4. Answer every item and say what is wrong on a failed one before handing in: a page sent back by the
  //    server would lose the photos already taken (browsers do not refill file inputs).
  form.addEventListener("submit", function (event) {
    var first = null;
    items.forEach(function (card) {
      var checked = card.querySelector("input[type=radio]:checked");
      var note = card.querySelector("input[name^=note_]");
      var missing = !checked || (checked.value === "fail" && !note.value.trim());
      card.classList.toggle("border-danger", missing);
      note.classList.toggle("is-invalid", !!checked && checked.value === "fail" && !note.value.trim());
      if (missing && !first) first = card;
    });
    if (first) {
      event.preventDefault();
      first.scrollIntoView({behavior: "smooth", block: "center"});
      return;
    }
    var button = form.querySelector("[type=submit]");
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = button.dataset.busy;
    }, 0);
  });
})();
