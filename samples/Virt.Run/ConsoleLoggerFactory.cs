using Microsoft.Extensions.Logging;

namespace Virt.Run;

/// <summary>A minimal logger factory writing one line per message to standard error (the sample takes no logging package).</summary>
/// <param name="minimumLevel">Messages below this level are dropped.</param>
/// <param name="traceCategoryPrefix">
/// Categories starting with this prefix log from Trace level up whatever <paramref name="minimumLevel"/> says (what
/// <c>-d</c> turns on), or null for none.
/// </param>
public sealed class ConsoleLoggerFactory(LogLevel minimumLevel, string? traceCategoryPrefix = null) : ILoggerFactory
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName)
    {
        ArgumentNullException.ThrowIfNull(categoryName);
        bool traced = traceCategoryPrefix is not null && categoryName.StartsWith(traceCategoryPrefix, StringComparison.Ordinal);
        return new ConsoleLogger(categoryName, traced ? LogLevel.Trace : minimumLevel);
    }

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
