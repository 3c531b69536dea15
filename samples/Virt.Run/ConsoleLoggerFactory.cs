using Microsoft.Extensions.Logging;

namespace Virt.Run;

/// <summary>A minimal logger factory writing one line per message to standard error (the sample takes no logging package).</summary>
/// <param name="minimumLevel">Messages below this level are dropped.</param>
public sealed class ConsoleLoggerFactory(LogLevel minimumLevel) : ILoggerFactory
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new ConsoleLogger(categoryName, minimumLevel);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class ConsoleLogger(string category, LogLevel minimumLevel) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Console.Error.WriteLine($"[{logLevel}] {category}: {formatter(state, exception)}");
            }
        }
    }
}
