namespace Virt.Machine.Boot;

/// <summary>
/// A kernel, firmware or other boot image is corrupt, truncated or asks for something the loader
/// cannot provide. The message names the file and the field. Loaders throw it before writing any
/// guest memory, so a failed load leaves nothing half-built.
/// </summary>
public sealed class BootImageException : Exception
{
    /// <summary>Creates an exception with no details (for serializers and tooling).</summary>
    public BootImageException()
    {
        ImageName = string.Empty;
        Field = string.Empty;
    }

    /// <summary>Creates an exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public BootImageException(string message)
        : base(message)
    {
        ImageName = string.Empty;
        Field = string.Empty;
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BootImageException(string message, Exception innerException)
        : base(message, innerException)
    {
        ImageName = string.Empty;
        Field = string.Empty;
    }

    /// <summary>Creates an exception for <paramref name="field"/> of <paramref name="imageName"/>.</summary>
    /// <param name="imageName">The file (or display name) of the image.</param>
    /// <param name="field">The header field or structure at fault, for example <c>setup header magic</c>.</param>
    /// <param name="detail">What is wrong with it.</param>
    public BootImageException(string imageName, string field, string detail)
        : base($"{imageName}: {field}: {detail}")
    {
        ImageName = imageName;
        Field = field;
    }

    /// <summary>The file (or display name) of the image at fault.</summary>
    public string ImageName { get; }

    /// <summary>The header field or structure at fault.</summary>
    public string Field { get; }
}
