// 心码 xinma: the resident's mini-program. Pages are built with Component() (each page's JSON has
// "component": true); every backend call goes through utils/api.js.
App({})
