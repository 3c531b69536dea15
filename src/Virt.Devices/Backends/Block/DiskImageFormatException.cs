namespace Virt.Devices;

/// <summary>
/// A disk image is not valid for its format: truncated, a wrong magic, an unsupported version or feature, a table that
/// lies beyond the file, an offset that is not aligned, a cycle of backing files. The message names the file and the
/// field. Thrown at open for the header and the tables read then; thrown by a read or write for per-cluster metadata
/// found corrupt only when it is reached, where (being an <see cref="IOException"/>) a controller reports it to the guest
/// as a device error.
/// </summary>
public sealed class DiskImageFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DiskImageFormatException()
        : base("The disk image is not valid.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public DiskImageFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that revealed the problem.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying exception.</param>
    public DiskImageFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a field of an image file.</summary>
    /// <param name="filePath">The image file.</param>
    /// <param name="field">The field that is wrong, as the format's specification names it (for example <c>l1_table_offset</c>).</param>
    /// <param name="detail">What is wrong with it.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public DiskImageFormatException(string filePath, string field, string detail, Exception? innerException = null)
        : base($"'{filePath}': {field}: {detail}", innerException)
    {
        FilePath = filePath;
        Field = field;
    }

    /// <summary>The image file (null when the exception was created without one).</summary>
    public string? FilePath { get; }

    /// <summary>The field that is wrong (null when the exception was created without one).</summary>
    public string? Field { get; }
}
