//! Configurations of other monitoring systems, turned into wasmon's.

pub mod nagios;
