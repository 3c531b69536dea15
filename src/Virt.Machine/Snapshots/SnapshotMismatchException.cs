namespace Virt.Machine;

/// <summary>
/// A well-formed snapshot was taken on a machine of another configuration (another RAM size or layout, another CPU
/// model, another device list). The message names every difference. The machine is unchanged when
/// <see cref="Machine.RestoreSnapshot"/> throws this.
/// </summary>
public sealed class SnapshotMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SnapshotMismatchException()
        : base("The snapshot was taken on a machine of another configuration.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The differences.</param>
    public SnapshotMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The differences.</param>
    /// <param name="innerException">The underlying exception.</param>
    public SnapshotMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
