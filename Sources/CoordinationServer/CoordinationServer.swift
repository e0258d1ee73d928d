// Module CoordinationServer
