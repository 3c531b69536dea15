using System.Buffers.Binary;
using System.Text;

namespace Virt.Machine.Acpi.Aml;

/// <summary>
/// Turns AML trees into the byte stream of a definition block (ACPI 6.5, chapter 20). Integers take their shortest
/// encoding; package lengths take the fewest bytes (one byte up to 63, then two, three or four).
/// </summary>
public static class AmlEncoder
{
    /// <summary>ZeroOp.</summary>
    public const byte ZeroOp = 0x00;

    /// <summary>OneOp.</summary>
    public const byte OneOp = 0x01;

    /// <summary>NameOp.</summary>
    public const byte NameOp = 0x08;

    /// <summary>BytePrefix.</summary>
    public const byte BytePrefix = 0x0A;

    /// <summary>WordPrefix.</summary>
    public const byte WordPrefix = 0x0B;

    /// <summary>DWordPrefix.</summary>
    public const byte DWordPrefix = 0x0C;

    /// <summary>StringPrefix.</summary>
    public const byte StringPrefix = 0x0D;

    /// <summary>QWordPrefix.</summary>
    public const byte QWordPrefix = 0x0E;

    /// <summary>ScopeOp.</summary>
    public const byte ScopeOp = 0x10;

    /// <summary>BufferOp.</summary>
    public const byte BufferOp = 0x11;

    /// <summary>PackageOp.</summary>
    public const byte PackageOp = 0x12;

    /// <summary>MethodOp.</summary>
    public const byte MethodOp = 0x14;

    /// <summary>ExtOpPrefix: the first byte of two-byte opcodes.</summary>
    public const byte ExtOpPrefix = 0x5B;

    /// <summary>OpRegionOp (after <see cref="ExtOpPrefix"/>).</summary>
    public const byte OpRegionOp = 0x80;

    /// <summary>FieldOp (after <see cref="ExtOpPrefix"/>).</summary>
    public const byte FieldOp = 0x81;

    /// <summary>DeviceOp (after <see cref="ExtOpPrefix"/>).</summary>
    public const byte DeviceOp = 0x82;

    /// <summary>Local0Op; Local1-7 follow.</summary>
    public const byte Local0Op = 0x60;

    /// <summary>Arg0Op; Arg1-6 follow.</summary>
    public const byte Arg0Op = 0x68;

    /// <summary>IfOp.</summary>
    public const byte IfOp = 0xA0;

    /// <summary>ElseOp.</summary>
    public const byte ElseOp = 0xA1;

    /// <summary>OnesOp: all bits set (64-bit in a revision-2 definition block).</summary>
    public const byte OnesOp = 0xFF;

    /// <summary>The most a package length can encode (28 bits).</summary>
    public const int MaxPackageLength = 0x0FFF_FFFF;

    /// <summary>MethodFlags bit 3: SerializeFlag.</summary>
    private const byte MethodSerializedFlag = 0x08;

    /// <summary>FieldFlags bits 6-5: UpdateRule.</summary>
    private const int FieldUpdateShift = 5;

    /// <summary>Encodes a sequence of terms (a definition block's body).</summary>
    /// <param name="nodes">The nodes.</param>
    /// <returns>The AML bytes.</returns>
    public static byte[] Encode(IEnumerable<AmlNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var output = new List<byte>();
        foreach (AmlNode node in nodes)
        {
            Encode(node, output);
        }

        return [.. output];
    }

    /// <summary>Encodes one node.</summary>
    /// <param name="node">The node.</param>
    /// <param name="output">Receives the bytes.</param>
    public static void Encode(AmlNode node, List<byte> output)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(output);
        switch (node)
        {
            case AmlInteger integer:
                EncodeInteger(integer.Value, output);
                break;
            case AmlString text:
                output.Add(StringPrefix);
                output.AddRange(Encoding.ASCII.GetBytes(text.Value));
                output.Add(0);
                break;
            case AmlBuffer buffer:
                WithPackageLength(output, [BufferOp], body =>
                {
                    EncodeInteger((ulong)buffer.Data.Length, body);
                    body.AddRange(buffer.Data.ToArray());
                });
                break;
            case AmlPackage package:
                WithPackageLength(output, [PackageOp], body =>
                {
                    body.Add((byte)package.Elements.Count);
                    EncodeAll(package.Elements, body);
                });
                break;
            case AmlNameReference reference:
                AmlNameString.Encode(reference.Path, output);
                break;
            case AmlArgument argument:
                output.Add((byte)(Arg0Op + argument.Index));
                break;
            case AmlLocal local:
                output.Add((byte)(Local0Op + local.Index));
                break;
            case AmlName name:
                output.Add(NameOp);
                AmlNameString.Encode(name.Path, output);
                Encode(name.Value, output);
                break;
            case AmlScope scope:
                WithPackageLength(output, [ScopeOp], body =>
                {
                    AmlNameString.Encode(scope.Path, body);
                    EncodeAll(scope.Body, body);
                });
                break;
            case AmlDevice device:
                WithPackageLength(output, [ExtOpPrefix, DeviceOp], body =>
                {
                    AmlNameString.Encode(device.Path, body);
                    EncodeAll(device.Body, body);
                });
                break;
            case AmlMethod method:
                WithPackageLength(output, [MethodOp], body =>
                {
                    AmlNameString.Encode(method.Path, body);
                    body.Add((byte)(method.ArgumentCount | (method.Serialized ? MethodSerializedFlag : 0)));
                    EncodeAll(method.Body, body);
                });
                break;
            case AmlCall call:
                AmlNameString.Encode(call.Path, output);
                EncodeAll(call.Arguments, output);
                break;
            case AmlIf conditional:
                WithPackageLength(output, [IfOp], body =>
                {
                    Encode(conditional.Predicate, body);
                    EncodeAll(conditional.Body, body);
                });
                if (conditional.ElseBody is { } elseBody)
                {
                    WithPackageLength(output, [ElseOp], body => EncodeAll(elseBody, body));
                }

                break;
            case AmlOperationRegion region:
                output.Add(ExtOpPrefix);
                output.Add(OpRegionOp);
                AmlNameString.Encode(region.Path, output);
                output.Add((byte)region.Space);
                Encode(region.Offset, output);
                Encode(region.Length, output);
                break;
            case AmlField field:
                WithPackageLength(output, [ExtOpPrefix, FieldOp], body =>
                {
                    AmlNameString.Encode(field.RegionPath, body);
                    body.Add((byte)((byte)field.Access | ((byte)field.Update << FieldUpdateShift)));
                    foreach (AmlFieldUnit unit in field.Units)
                    {
                        if (unit.Name is null)
                        {
                            body.Add(0); // ReservedField := 0x00 PkgLength
                        }
                        else
                        {
                            body.AddRange(Encoding.ASCII.GetBytes(unit.Name));
                        }

                        // A field's PkgLength is a bit count, not a byte count that includes itself.
                        EncodePackageLengthValue(unit.BitLength, body);
                    }
                });
                break;
            case AmlOperation operation:
                output.Add((byte)operation.Opcode);
                EncodeAll(operation.Operands, output);
                break;
            default:
                throw new ArgumentException($"Unknown AML node {node.GetType().Name}.", nameof(node));
        }
    }

    /// <summary>Encodes an integer in its shortest form (ACPI 6.5, 20.2.3 "Data Objects Encoding").</summary>
    /// <param name="value">The value.</param>
    /// <param name="output">Receives the bytes.</param>
    public static void EncodeInteger(ulong value, List<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        switch (value)
        {
            case 0:
                output.Add(ZeroOp);
                break;
            case 1:
                output.Add(OneOp);
                break;
            case ulong.MaxValue:
                output.Add(OnesOp);
                break;
            case <= byte.MaxValue:
                output.Add(BytePrefix);
                output.Add((byte)value);
                break;
            case <= ushort.MaxValue:
                output.Add(WordPrefix);
                AddLittleEndian(output, value, sizeof(ushort));
                break;
            case <= uint.MaxValue:
                output.Add(DWordPrefix);
                AddLittleEndian(output, value, sizeof(uint));
                break;
            default:
                output.Add(QWordPrefix);
                AddLittleEndian(output, value, sizeof(ulong));
                break;
        }
    }

    /// <summary>
    /// Encodes a PkgLength whose value is <paramref name="bodyLength"/> plus its own size (ACPI 6.5, 20.2.4 "Package
    /// Length Encoding"): one byte (bits 5-0) up to 63, otherwise a lead byte with the count of following bytes in
    /// bits 7-6 and the low nibble in bits 3-0, then the rest 8 bits a byte.
    /// </summary>
    /// <param name="bodyLength">The bytes that follow the PkgLength within the object.</param>
    /// <param name="output">Receives the bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the object is too large for 28 bits.</exception>
    public static void EncodePackageLength(int bodyLength, List<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        for (int size = 1; size <= 4; size++)
        {
            long total = (long)bodyLength + size;
            if (total <= MaxValueFor(size))
            {
                EncodePackageLengthValue((int)total, output, size);
                return;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(bodyLength), $"An AML object of {bodyLength} bytes is too large for a package length.");
    }

    /// <summary>The number of bytes a PkgLength takes for a given first byte (bits 7-6 + 1).</summary>
    /// <param name="leadByte">The first byte.</param>
    /// <returns>1 to 4.</returns>
    public static int PackageLengthSize(byte leadByte) => (leadByte >> 6) + 1;

    private static void EncodePackageLengthValue(int value, List<byte> output)
    {
        int size = 1;
        while (value > MaxValueFor(size))
        {
            size++;
        }

        if (size > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(value), $"{value} does not fit in a package length.");
        }

        EncodePackageLengthValue(value, output, size);
    }

    private static void EncodePackageLengthValue(int value, List<byte> output, int size)
    {
        if (size == 1)
        {
            output.Add((byte)value);
            return;
        }

        output.Add((byte)(((size - 1) << 6) | (value & 0x0F)));
        for (int i = 1; i < size; i++)
        {
            output.Add((byte)(value >> (4 + (8 * (i - 1)))));
        }
    }

    private static long MaxValueFor(int size) => size == 1 ? 0x3F : (1L << (4 + (8 * (size - 1)))) - 1;

    private static void WithPackageLength(List<byte> output, byte[] opcode, Action<List<byte>> writeBody)
    {
        var body = new List<byte>();
        writeBody(body);
        output.AddRange(opcode);
        EncodePackageLength(body.Count, output);
        output.AddRange(body);
    }

    private static void EncodeAll(IEnumerable<AmlNode> nodes, List<byte> output)
    {
        foreach (AmlNode node in nodes)
        {
            Encode(node, output);
        }
    }

    private static void AddLittleEndian(List<byte> output, ulong value, int size)
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        for (int i = 0; i < size; i++)
        {
            output.Add(bytes[i]);
        }
    }
}
