namespace Virt.Run.CommandLine;

/// <summary>A command-line error: the program prints the message on one line and exits with status 2.</summary>
public sealed class RunOptionsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RunOptionsException()
    {
    }

    /// <summary>Creates the exception with the one-line message to print.</summary>
    /// <param name="message">What is wrong, naming the option.</param>
    public RunOptionsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public RunOptionsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
