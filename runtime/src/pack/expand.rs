//! Turning a host's packs into services: the step between reading the
//! configuration and starting the engine, where discovery runs.

use std::collections::{HashMap, HashSet};

use crate::config::{CheckSpec, Config, Host, HostPack, Service};
use crate::error::Error;
use crate::sandbox::Sandbox;
use crate::sandbox::module::{CheckModule, DiscoverCall};
use crate::sandbox::policy::{Limits, Target};

use super::{Installed, ServiceTemplate};

/// Gives every host that lists `packs` the services its packs define, as
/// ordinary [`Service`]s of `config` (appended after the configured ones),
/// and empties each host's `packs`, so a second call changes nothing.
///
/// A pack service runs the installed component
/// (`PACKS_DIR/NAME/checks/CHECK.wasm`) with the grants the manifest lists,
/// the host's contacts, notification settings and event handlers, and the
/// host's schedule under the manifest's schedule keys. Its parameters are,
/// in rising precedence: the check's defaults in the manifest, the
/// service's, those discovery gives its item, the host's `pack_params` for
/// the whole pack (where the check takes the parameter), for the service as
/// the manifest names it ("Disk {item}"), and for the one service
/// ("Disk /var").
///
/// A service with `discover` becomes one service per item the check's
/// `discover()` returns for the host, kept by the template's `include` and
/// `exclude`. If discovery fails, the host gets one service instead, named
/// for the template with "discovery" as the item ("Disk discovery"), that
/// is UNKNOWN with the reason, so the failure is monitored, not hidden.
///
/// A configured `[[service]]` with the same host and name as a pack
/// service replaces it.
pub async fn expand(config: &mut Config, sandbox: &Sandbox) -> Result<(), Error> {
    if config.hosts.iter().all(|h| h.packs.is_empty()) {
        return Ok(());
    }
    let mut taken: HashSet<(String, String)> =
        config.services.iter().map(|s| (s.host.clone(), s.name.clone())).collect();
    let mut opened: HashMap<String, Installed> = HashMap::new();
    let mut modules: HashMap<String, CheckModule> = HashMap::new();
    let mut added = Vec::new();
    for host in &mut config.hosts {
        let packs = std::mem::take(&mut host.packs);
        for host_pack in &packs {
            let installed = match opened.get(&host_pack.name) {
                Some(p) => p.clone(),
                None => {
                    let p = super::open(&config.engine.packs_dir, &host_pack.name)
                        .map_err(|e| Error::HostPack { host: host.name.clone(), source: Box::new(e) })?;
                    opened.insert(host_pack.name.clone(), p.clone());
                    p
                }
            };
            for template in &installed.manifest.services {
                let max_items = config.engine.max_discovered_items;
                let services =
                    services_of(host, host_pack, &installed, template, sandbox, &mut modules, max_items).await;
                for s in services {
                    if taken.insert((s.host.clone(), s.name.clone())) {
                        added.push(s);
                    } else {
                        tracing::info!(host = %s.host, service = %s.name, pack = %installed.manifest.name, "a configured service replaces the pack's");
                    }
                }
            }
        }
    }
    config.services.extend(added);
    Ok(())
}

/// The services one template of one pack gives one host.
async fn services_of(
    host: &Host,
    host_pack: &HostPack,
    installed: &Installed,
    template: &ServiceTemplate,
    sandbox: &Sandbox,
    modules: &mut HashMap<String, CheckModule>,
    max_items: usize,
) -> Vec<Service> {
    let manifest = &installed.manifest;
    let Some(check) = manifest.check(&template.check) else { return Vec::new() };
    let module = installed.component(&check.name).display().to_string();
    let grants = manifest.grants(&check.name);
    let service = |name: String, item: Option<String>, item_params: &[(String, String)]| {
        let mut params: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| match params.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => params.push((k.to_string(), v.to_string())),
        };
        for (k, v) in check.params.iter().chain(&template.params) {
            set(k, v);
        }
        for (k, v) in item_params {
            set(k, v);
        }
        for (k, v) in &host_pack.params {
            if manifest.takes(&check.name, k) {
                set(k, v);
            }
        }
        for key in [&template.name, &name] {
            for (_, list) in host_pack.services.iter().filter(|(n, _)| n == key) {
                for (k, v) in list {
                    set(k, v);
                }
            }
        }
        Service {
            host: host.name.clone(),
            name,
            item,
            check: CheckSpec {
                module: module.clone(),
                params,
                grants: grants.clone(),
                // The host's zone: a host and its services run together.
                zone: host.zone.clone(),
                ..CheckSpec::default()
            },
            schedule: template.schedule(host.schedule),
            contacts: host.contacts.clone(),
            notification: host.notification,
            event_handlers: host.event_handlers.clone(),
            // Flap detection as the host has it; no parents but the host.
            flapping: host.flapping,
            ..Service::default()
        }
    };
    if !template.discover {
        return vec![service(template.name.clone(), template.item.clone(), &[])];
    }
    match discover(host, &module, template, &grants, sandbox, modules, max_items).await {
        Ok(items) => items
            .into_iter()
            .filter(|i| template.keeps(&i.name))
            .map(|i| service(template.name_for(&i.name), Some(i.name.clone()), &i.params))
            .collect(),
        Err(reason) => {
            let name = template.name_for("discovery");
            tracing::warn!(host = %host.name, service = %name, %reason, "discovery failed");
            let text = format!("Discovery of \"{}\" (pack {}) failed: {reason}", template.name, manifest.name);
            let check = CheckSpec {
                module: "dummy".into(),
                params: vec![("state".into(), "UNKNOWN".into()), ("text".into(), text)],
                limits: Limits::default(),
                zone: host.zone.clone(),
                ..CheckSpec::default()
            };
            vec![Service { check, ..service(name, None, &[]) }]
        }
    }
}

/// Runs the check's `discover()` for the host.
async fn discover(
    host: &Host,
    module: &str,
    template: &ServiceTemplate,
    grants: &crate::Grants,
    sandbox: &Sandbox,
    modules: &mut HashMap<String, CheckModule>,
    max_items: usize,
) -> Result<Vec<crate::Item>, String> {
    let loaded = match modules.get(module) {
        Some(m) => m.clone(),
        None => {
            let m = sandbox.load_file(std::path::Path::new(module)).map_err(|e| e.to_string())?;
            modules.insert(module.to_string(), m.clone());
            m
        }
    };
    let address = match &host.address {
        Some(a) => Some(crate::sandbox::policy::resolve_address(a).map_err(|e| e.to_string())?),
        None => None,
    };
    let call = DiscoverCall {
        target: Target::new(host.name.clone(), address),
        params: template.discovery_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        limits: Limits::default(),
        grants: grants.clone(),
        max_items,
    };
    loaded.discover(&call).await.map_err(|e| e.to_string())
}
