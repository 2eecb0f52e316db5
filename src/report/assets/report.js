(function () {
  document.documentElement.classList.add("js");
  const scenarios = Array.from(document.querySelectorAll("details.scenario"));
  const features = Array.from(document.querySelectorAll("section.feature"));
  const buttons = Array.from(document.querySelectorAll(".filters button[data-status]"));
  const tagFilter = document.getElementById("tag-filter");
  const shown = document.getElementById("shown");
  let status = "all";
  function apply() {
    const tag = tagFilter.value;
    let count = 0;
    for (const scenario of scenarios) {
      const visible = (status === "all" || scenario.dataset.status === status) &&
        (tag === "" || scenario.dataset.tags.split(" ").includes(tag));
      scenario.hidden = !visible;
      if (visible) count += 1;
    }
    for (const feature of features) {
      feature.hidden = !feature.querySelector("details.scenario:not([hidden])");
    }
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.status === status));
    }
    shown.textContent = count + " of " + scenarios.length + " scenario(s) shown";
  }
  function reveal(id) {
    const scenario = id && document.getElementById(id);
    if (!scenario || !scenario.classList.contains("scenario")) return;
    if (scenario.hidden) { status = "all"; tagFilter.value = ""; apply(); }
    scenario.open = true;
  }
  for (const button of buttons) {
    button.addEventListener("click", () => { status = button.dataset.status; apply(); });
  }
  tagFilter.addEventListener("change", apply);
  for (const button of document.querySelectorAll("button[data-tag]")) {
    button.addEventListener("click", () => {
      tagFilter.value = button.dataset.tag; status = "all"; apply();
      document.getElementById("scenarios").scrollIntoView();
    });
  }
  // Before the browser follows the link: a scenario the filters hide
  // cannot be scrolled to.
  for (const link of document.querySelectorAll("a[href^='#s-']")) {
    link.addEventListener("click", () => reveal(link.hash.slice(1)));
  }
  window.addEventListener("hashchange", () => reveal(location.hash.slice(1)));
  apply();
  if (location.hash) {
    reveal(location.hash.slice(1));
    const target = document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
})();
