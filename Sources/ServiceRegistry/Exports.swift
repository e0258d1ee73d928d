// Service instances, their JSON and the registry's errors live in the pure ServiceModel module beneath this shell;
// re-exported so that users of ServiceRegistry see them as before.
@_exported import ServiceModel
