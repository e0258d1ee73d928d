// Module CoordinationCore
