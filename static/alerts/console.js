/* The responder console's cues (issue 6 §7). htmx swaps #console-list every 2 s; after each
 * swap this compares the newest critical alert's raise time with the newest one seen so far
 * and, when a newer one has arrived, shows the banner, highlights its row and beeps (Web
 * Audio API: a tone made here, no sound file). Browsers let a page make sound only after the
 * person has touched it, so the first click or key on the page (or the sound button) unlocks
 * the audio. Without scripts the page still lists and handles alerts; it just does not poll.
 */
(function () {
  "use strict";

  var consoleRoot = document.getElementById("console");
  if (!consoleRoot) return;
  var banner = document.getElementById("new-critical-banner");
  var bannerText = document.getElementById("new-critical-text");
  var soundButton = document.getElementById("sound-toggle");
  var audio = null;

  function audioContext() {
    if (!audio) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
    }
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function soundReady() {
    return audio !== null && audio.state === "running";
  }

  function showSoundState() {
    if (!soundButton) return;
    soundButton.hidden = soundReady();
    soundButton.setAttribute("aria-pressed", soundReady() ? "true" : "false");
  }

  function unlock() {
    audioContext();
    window.setTimeout(showSoundState, 100);
  }

  function beep() {
    var context = audioContext();
    if (!context) return;
    // Three short high tones: distinct from a phone's ring, audible in a noisy duty room.
    for (var i = 0; i < 3; i++) {
      var start = context.currentTime + i * 0.35;
      var oscillator = context.createOscillator();
      var gain = context.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.25);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.3);
    }
    consoleRoot.dataset.beeps = String(Number(consoleRoot.dataset.beeps || 0) + 1);
  }

  function cue(list) {
    var id = list.dataset.newestCritical;
    bannerText.textContent = list.dataset.newestCriticalLabel || "";
    banner.hidden = false;
    var row = id && document.getElementById("alert-" + id);
    if (row) row.classList.add("new-critical");
    consoleRoot.dataset.cues = String(Number(consoleRoot.dataset.cues || 0) + 1);
    try {
      beep();
    } catch (error) {
      // No audio device or a browser without Web Audio: the banner still says it.
    }
  }

  function check(list) {
    var newest = Number(list.dataset.newestCriticalAt || 0);
    var seen = Number(consoleRoot.dataset.seenCriticalAt || 0);
    if (newest > seen) {
      consoleRoot.dataset.seenCriticalAt = String(newest);
      cue(list);
    }
  }

  // htmx:load fires on every piece of content htmx puts in the page, the swapped list too
  // (an outerHTML swap replaces the element, so it is looked up afresh).
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "console-list") check(event.target);
  });

  document.getElementById("new-critical-dismiss").addEventListener("click", function () {
    banner.hidden = true;
  });
  if (soundButton) {
    soundButton.hidden = false;
    soundButton.addEventListener("click", unlock);
  }
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
})();
