//! The server binary's own tests, in one test binary: crash safety under
//! SIGKILL, the shell commands (export, backup), and two nodes behind
//! nginx.

mod backup;
mod cluster;
mod kill;
mod node;
