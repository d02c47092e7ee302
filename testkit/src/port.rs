//! [`free_port`]: a loopback port nobody listens on.

/// A TCP port on loopback that was free a moment ago (for a program under test that must be
/// given its listen address up front).
///
/// ```
/// assert_ne!(pbx_testkit::free_port(), 0);
/// ```
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
