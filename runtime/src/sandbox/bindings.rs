//! Host bindings generated from `wit/check.wit`. Private to the sandbox: the
//! public API uses the hand-written types of [`crate::outcome`] and
//! [`crate::module`] instead (generated types never leak to embedders).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "check",
    imports: { default: trappable },
    exports: { default: async },
});
