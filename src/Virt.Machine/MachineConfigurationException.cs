namespace Virt.Machine;

/// <summary>
/// Thrown by <see cref="MachineBuilder.Build"/> when the host's configuration cannot make a machine: a bad size, a
/// missing or unreadable file, a corrupt image, overlapping devices. The message says what is wrong in the library's
/// own terms (the setting, the file, the field); <see cref="Setting"/> tells a front end which of its options to name.
/// Nothing is half-built when it is thrown.
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

    /// <summary>Creates the exception about one setting.</summary>
    /// <param name="setting">The setting that is wrong.</param>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The cause, or null.</param>
    public MachineConfigurationException(MachineSetting setting, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Setting = setting;
    }

    /// <summary>The setting the error is about, or <see cref="MachineSetting.None"/>.</summary>
    public MachineSetting Setting { get; }
}
