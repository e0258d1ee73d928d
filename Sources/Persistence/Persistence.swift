// Module Persistence
