//! A loaded check module and what it says about itself.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::outcome::Outcome;
use crate::sandbox::Sandbox;
use crate::sandbox::bindings::{self, CheckPre};
use crate::sandbox::policy::{Grants, Limits, Target};
use crate::values::Values;

/// A check component, compiled and linked, ready to run any number of
/// times. Cheap to clone.
#[derive(Clone)]
pub struct CheckModule {
    pub(crate) sandbox: Sandbox,
    pub(crate) name: Arc<str>,
    digest: [u8; 32],
    pub(crate) pre: CheckPre<crate::sandbox::HostState>,
}

impl std::fmt::Debug for CheckModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckModule").field("name", &self.name).field("digest", &self.digest_hex()).finish()
    }
}

/// One run of a check: what to look at, with which limits and grants, and
/// the service's value store as the previous run left it.
#[derive(Clone, Debug, Default)]
pub struct CheckCall {
    /// The host the check runs against.
    pub target: Target,
    /// The item the service monitors, if the check has items.
    pub item: Option<String>,
    /// Parameters as name and value, in order.
    pub params: Vec<(String, String)>,
    /// Resource limits.
    pub limits: Limits,
    /// What the check may reach.
    pub grants: Grants,
    /// The service's value store.
    pub values: Values,
}

/// A finished run: the outcome and the value store to keep for the next run
/// (unchanged unless the run completed).
#[derive(Clone, Debug)]
pub struct CheckRun {
    /// State, output and performance data.
    pub outcome: Outcome,
    /// The service's value store after the run.
    pub values: Values,
}

/// A discovery request: the target and the parameters that shape discovery.
#[derive(Clone, Debug, Default)]
pub struct DiscoverCall {
    /// The host to discover items on.
    pub target: Target,
    /// Parameters as name and value.
    pub params: Vec<(String, String)>,
    /// Resource limits.
    pub limits: Limits,
    /// What the check may reach.
    pub grants: Grants,
}

/// An item found by discovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The item's name, passed back as [`CheckCall::item`].
    pub name: String,
    /// Parameters discovery recommends for this item.
    pub params: Vec<(String, String)>,
}

/// What a check says about itself (`describe()`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInfo {
    /// Short name.
    pub name: String,
    /// The check's version.
    pub version: String,
    /// "Device: what is monitored".
    pub title: String,
    /// The manpage.
    pub manpage: Manpage,
    /// Every parameter the check understands.
    pub params: Vec<ParamInfo>,
}

/// A check's manpage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manpage {
    /// What is monitored and when it is OK, WARN or CRIT.
    pub description: String,
    /// How the item is formed, if the check has items.
    pub item: Option<String>,
    /// How discovery finds services, if the check discovers.
    pub discovery: Option<String>,
}

/// Documentation of one parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// Parameter name.
    pub name: String,
    /// Meaning and syntax.
    pub description: String,
    /// The default value, if any.
    pub default: Option<String>,
    /// Where the default comes from.
    pub default_source: Option<String>,
}

impl CheckModule {
    pub(crate) fn new(
        sandbox: Sandbox,
        name: &str,
        digest: [u8; 32],
        pre: CheckPre<crate::sandbox::HostState>,
    ) -> CheckModule {
        CheckModule { sandbox, name: name.into(), digest, pre }
    }

    /// The name the module was loaded under (a path or a standard check name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sha256 of the component, in hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// Asks the check to describe itself. Runs with the default limits and
    /// no grants.
    pub async fn describe(&self) -> Result<CheckInfo, Error> {
        let info = self
            .execute_describe()
            .await
            .map_err(|message| Error::Run { module: self.name.to_string(), call: "describe", message })?;
        Ok(CheckInfo {
            name: info.name,
            version: info.version,
            title: info.title,
            manpage: Manpage {
                description: info.manpage.description,
                item: info.manpage.item,
                discovery: info.manpage.discovery,
            },
            params: info
                .params
                .into_iter()
                .map(|p| ParamInfo {
                    name: p.name,
                    description: p.description,
                    default: p.default_value,
                    default_source: p.default_source,
                })
                .collect(),
        })
    }

    /// Asks the check which items it would monitor on the target.
    pub async fn discover(&self, call: &DiscoverCall) -> Result<Vec<Item>, Error> {
        let items = self
            .execute_discover(call)
            .await
            .map_err(|message| Error::Run { module: self.name.to_string(), call: "discover", message })?;
        Ok(items
            .into_iter()
            .map(|i| Item { name: i.name, params: i.params.into_iter().map(|p| (p.name, p.value)).collect() })
            .collect())
    }

    /// Runs the check once in a fresh instance. Never fails: every way a run
    /// can end is mapped to a state and a message.
    pub async fn check(&self, call: &CheckCall) -> CheckRun {
        self.execute_check(call).await
    }
}

pub(crate) fn wit_params(params: &[(String, String)]) -> Vec<bindings::wasmon::check::types::Param> {
    params
        .iter()
        .map(|(name, value)| bindings::wasmon::check::types::Param { name: name.clone(), value: value.clone() })
        .collect()
}
