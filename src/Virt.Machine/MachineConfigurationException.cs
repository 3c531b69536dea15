namespace Virt.Machine;

/// <summary>
/// Thrown by <see cref="MachineBuilder.Build"/> when the host's configuration cannot make a machine: a bad size, a
/// missing or unreadable file, a corrupt image, overlapping devices. The message names the option and, for files,
/// the file. Nothing is half-built when it is thrown.
/// </summary>
public sealed class MachineConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MachineConfigurationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and where.</param>
    public MachineConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The cause.</param>
    public MachineConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
