//! A pure HTTP/1.1 codec shared by both runtimes.
