// The server's configuration and its four-letter words live in the pure ServerConfig module beneath this shell;
// re-exported so that users of CoordinationServer (zooreg, the tests, embedders) see them as before.
@_exported import ServerConfig
