//! Host bindings generated from `wit/check.wit`. Private to the sandbox: the
//! public API uses the hand-written types of [`crate::outcome`] and
//! [`crate::sandbox::module`] instead (generated types never leak to embedders).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "check",
    imports: { default: trappable },
    exports: { default: async },
});

/// Host bindings of world `handler` (`wit/handler.wit`). It shares the
/// `types` and `log` interfaces with world `check`, so one linker and one
/// host state serve both.
pub(crate) mod handler {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "handler",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "wasmon:check/types": super::wasmon::check::types,
            "wasmon:check/log": super::wasmon::check::log,
        },
    });
}
