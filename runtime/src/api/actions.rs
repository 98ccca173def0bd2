//! What the API's write endpoints do, once: the handlers and the status
//! page's forms both take a JSON body through these, so the page's
//! actions check their fields and reach the engine exactly as the API's.

use serde_json::Value;

use super::error::ApiError;
use super::request;
use crate::Downtime;
use crate::engine::{Event, ObjectStatus};
use crate::monitor::Monitor;

/// `POST /recheck`: runs the object's check now; its result event.
pub(crate) async fn recheck(monitor: &Monitor, body: &Value) -> Result<Event, ApiError> {
    let (host, service) = request::object(body, &["host", "service"])?;
    Ok(monitor.run_now(&host, service.as_deref()).await?)
}

/// `POST /acknowledgements`: acknowledges an object's problem; the
/// object's status after it.
pub(crate) async fn acknowledge(monitor: &Monitor, body: &Value) -> Result<ObjectStatus, ApiError> {
    let ack = request::acknowledgement(body)?;
    let (host, service) = (ack.host.clone(), ack.service.clone());
    monitor.acknowledge(ack).await?;
    Ok(monitor.status(&host, service.as_deref()).await?)
}

/// `DELETE /acknowledgements`: removes an object's acknowledgement; the
/// object's status after it.
pub(crate) async fn unacknowledge(monitor: &Monitor, body: &Value) -> Result<ObjectStatus, ApiError> {
    let (host, service) = request::object(body, &["host", "service"])?;
    monitor.remove_acknowledgement(&host, service.as_deref()).await?;
    Ok(monitor.status(&host, service.as_deref()).await?)
}

/// `POST /downtimes`: schedules a downtime (`start` defaults to now).
pub(crate) async fn schedule_downtime(monitor: &Monitor, body: &Value) -> Result<Downtime, ApiError> {
    let request = request::downtime(body, monitor.now())?;
    Ok(monitor.schedule_downtime(request).await?)
}

/// `DELETE /downtimes/{id}`: cancels a downtime given by its id as text.
pub(crate) async fn cancel_downtime(monitor: &Monitor, id: &str) -> Result<(), ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request(format!("path 'id': expected a downtime id (a whole number), found \"{id}\""))
    })?;
    Ok(monitor.cancel_downtime(id).await?)
}
