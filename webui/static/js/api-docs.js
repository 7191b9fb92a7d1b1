/* Starts Swagger UI (served by this app from the swagger-ui-py package's files) on the API's OpenAPI document. */
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: element.getAttribute("data-spec-url"),
    domNode: element,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false
  });
})();
