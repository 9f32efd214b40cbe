//! The server binary's own tests, in one test binary: crash safety under
//! SIGKILL, the shell commands, and two nodes behind nginx.

mod cluster;
mod kill;
mod node;
