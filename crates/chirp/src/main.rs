fn main() -> std::process::ExitCode {
    chirp::main()
}
