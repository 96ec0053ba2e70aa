// The payment page: Stripe.js collects the card against the order's SetupIntent, so card
// details go to the payment service and never to SafeUnit. Either way the form is then
// posted: with the confirmed SetupIntent, or with it and Stripe's reason for refusing, so
// the server asks Stripe itself and records the failure on the order.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("stripe-config").textContent);
  const form = document.getElementById("pay-form");
  const submit = document.getElementById("pay-submit");
  const errors = document.getElementById("pay-errors");
  const setupIntentInput = document.getElementById("id_setup_intent");
  const clientErrorInput = document.getElementById("id_client_error");

  const stripe = Stripe(config.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  function showError(message) {
    errors.textContent = "";
    const box = document.createElement("article");
    box.className = "message error";
    box.textContent = message;
    errors.appendChild(box);
  }

  let sent = false;
  form.addEventListener("submit", async function (event) {
    if (sent) {
      return; // the second, programmatic submit below
    }
    event.preventDefault();
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    const result = await stripe.confirmCardSetup(config.clientSecret, {
      payment_method: { card: card },
    });
    if (result.error) {
      const message = result.error.message || config.genericError;
      showError(message);
      setupIntentInput.value = config.setupIntent;
      clientErrorInput.value = message.slice(0, 300);
    } else {
      setupIntentInput.value = result.setupIntent.id;
      clientErrorInput.value = "";
    }
    sent = true;
    form.submit();
  });
})();
