namespace Virt.Memory;

/// <summary>
/// Thrown only in strict mode (<see cref="MemoryMapOptions.Strict"/>, <see cref="IoPortSpace"/> strict
/// constructor flag), which tests use to turn guest accesses of unmapped memory or ports into errors.
/// In normal operation these accesses are counted and served as open bus.
/// </summary>
public sealed class UnmappedAccessException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UnmappedAccessException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was accessed.</param>
    public UnmappedAccessException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">What was accessed.</param>
    /// <param name="innerException">The cause.</param>
    public UnmappedAccessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
