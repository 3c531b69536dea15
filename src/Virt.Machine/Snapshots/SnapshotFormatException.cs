namespace Virt.Machine;

/// <summary>
/// A snapshot stream is not a valid snapshot of this format: wrong magic or version, truncated, a checksum that does
/// not match, a section or field that cannot be parsed or is out of range. The message names the section and field.
/// The machine is unchanged when <see cref="Machine.RestoreSnapshot"/> throws this.
/// </summary>
public sealed class SnapshotFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SnapshotFormatException()
        : base("The snapshot is not valid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, naming the section and field.</param>
    public SnapshotFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that revealed the problem.</summary>
    /// <param name="message">What is wrong, naming the section and field.</param>
    /// <param name="innerException">The underlying exception.</param>
    public SnapshotFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
