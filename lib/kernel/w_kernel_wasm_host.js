// Declares to Emscripten the imports of module "wkit" that
// w_kernel_wasm_host.c uses (w_send, w_recv and w_barrier of coupled
// tasks), so linking a standalone kernel does not fail on them. The real
// functions come from the host at instantiation (www/kernel.js).
mergeInto(LibraryManager.library, {
  wkit_send: function() {},
  wkit_recv: function() {},
  wkit_barrier: function() {},
});
