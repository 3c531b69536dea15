namespace Virt.Fuzz;

/// <summary>Thrown by <see cref="ReproducerCheck"/> when a reproducer still shows its finding.</summary>
public sealed class FuzzFindingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FuzzFindingException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was found.</param>
    public FuzzFindingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What was found.</param>
    /// <param name="innerException">The cause.</param>
    public FuzzFindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
