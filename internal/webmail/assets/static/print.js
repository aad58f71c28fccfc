// The print page of a message opens the print dialog once it has loaded.
"use strict";
addEventListener("load", () => print());
