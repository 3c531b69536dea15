using System.Buffers.Binary;
using System.Text;
using Virt.Machine.Acpi.Aml;

namespace Virt.Machine.Tests.Acpi.Aml;

/// <summary>
/// A small AML parser for the tests, written from the grammar in ACPI 6.5 chapter 20 (independently of the encoder's
/// tables): it turns a definition block body back into a tree. Method invocations are recognized by the methods declared
/// earlier in the stream (by their last name segment), which is how the DSDT orders them.
/// </summary>
internal sealed class AmlDecoder
{
    private static readonly Dictionary<byte, int> s_operandCounts = new()
    {
        [0x70] = 2, // Store
        [0x72] = 3, // Add
        [0x74] = 3, // Subtract
        [0x75] = 1, // Increment
        [0x76] = 1, // Decrement
        [0x79] = 3, // ShiftLeft
        [0x7A] = 3, // ShiftRight
        [0x7B] = 3, // And
        [0x7D] = 3, // Or
        [0x7F] = 3, // Xor
        [0x80] = 2, // Not
        [0x86] = 2, // Notify
        [0x87] = 1, // SizeOf
        [0x8A] = 3, // CreateDWordField (last: NameString)
        [0x8B] = 3, // CreateWordField
        [0x8C] = 3, // CreateByteField
        [0x90] = 2, // LAnd
        [0x91] = 2, // LOr
        [0x92] = 1, // LNot
        [0x93] = 2, // LEqual
        [0x94] = 2, // LGreater
        [0x95] = 2, // LLess
        [0xA3] = 0, // Noop
        [0xA4] = 1, // Return
        [0xA5] = 0, // Break
    };

    private readonly byte[] _aml;
    private readonly Dictionary<string, int> _methods = [];

    /// <summary>The ends of the enclosing term lists: an Else belongs to an If only inside the same list.</summary>
    private readonly Stack<int> _ends = new();
    private int _position;

    private AmlDecoder(byte[] aml) => _aml = aml;

    public static IReadOnlyList<AmlNode> Decode(byte[] aml)
    {
        var decoder = new AmlDecoder(aml);
        return decoder.TermList(aml.Length);
    }

    /// <summary>Decodes a PkgLength at <paramref name="position"/>: (value, bytes used).</summary>
    public static (int Value, int Size) DecodePackageLength(ReadOnlySpan<byte> bytes, int position)
    {
        byte lead = bytes[position];
        int follow = lead >> 6;
        if (follow == 0)
        {
            return (lead & 0x3F, 1);
        }

        int value = lead & 0x0F;
        for (int i = 0; i < follow; i++)
        {
            value |= bytes[position + 1 + i] << (4 + (8 * i));
        }

        return (value, follow + 1);
    }

    private List<AmlNode> TermList(int end)
    {
        var nodes = new List<AmlNode>();
        _ends.Push(end);
        while (_position < end)
        {
            nodes.Add(Term(allowCall: true));
        }

        _ends.Pop();

        if (_position != end)
        {
            throw new InvalidDataException($"AML term list overran its end {end} (at {_position}).");
        }

        return nodes;
    }

    private int PackageEnd()
    {
        int start = _position;
        (int value, int size) = DecodePackageLength(_aml, _position);
        _position += size;
        return start + value;
    }

    private AmlNode Term(bool allowCall)
    {
        byte op = _aml[_position];
        switch (op)
        {
            case 0x00:
                _position++;
                return new AmlInteger(0);
            case 0x01:
                _position++;
                return new AmlInteger(1);
            case 0xFF:
                _position++;
                return new AmlInteger(ulong.MaxValue);
            case 0x0A:
                _position += 2;
                return new AmlInteger(_aml[_position - 1]);
            case 0x0B:
                _position += 3;
                return new AmlInteger(BinaryPrimitives.ReadUInt16LittleEndian(_aml.AsSpan(_position - 2)));
            case 0x0C:
                _position += 5;
                return new AmlInteger(BinaryPrimitives.ReadUInt32LittleEndian(_aml.AsSpan(_position - 4)));
            case 0x0E:
                _position += 9;
                return new AmlInteger(BinaryPrimitives.ReadUInt64LittleEndian(_aml.AsSpan(_position - 8)));
            case 0x0D:
            {
                int end = Array.IndexOf(_aml, (byte)0, _position + 1);
                string text = Encoding.ASCII.GetString(_aml, _position + 1, end - _position - 1);
                _position = end + 1;
                return new AmlString(text);
            }

            case 0x11:
            {
                _position++;
                int end = PackageEnd();
                var size = (AmlInteger)Term(allowCall: false);
                byte[] data = _aml[_position..end];
                if ((ulong)data.Length != size.Value)
                {
                    throw new InvalidDataException($"Buffer size {size.Value} but {data.Length} bytes of initializer.");
                }

                _position = end;
                return new AmlBuffer(data);
            }

            case 0x12:
            {
                _position++;
                int end = PackageEnd();
                int count = _aml[_position++];
                var elements = new List<AmlNode>();
                while (_position < end)
                {
                    elements.Add(Term(allowCall: false));
                }

                if (elements.Count != count)
                {
                    throw new InvalidDataException($"Package says {count} elements, holds {elements.Count}.");
                }

                return new AmlPackage(elements);
            }

            case 0x08:
            {
                _position++;
                string name = NameString();
                return new AmlName(name, Term(allowCall: false));
            }

            case 0x10:
            {
                _position++;
                int end = PackageEnd();
                string name = NameString();
                return new AmlScope(name, TermList(end));
            }

            case 0x14:
            {
                _position++;
                int end = PackageEnd();
                string name = NameString();
                byte flags = _aml[_position++];
                _methods[LastSegment(name)] = flags & 7;
                return new AmlMethod(name, flags & 7, (flags & 8) != 0, TermList(end));
            }

            case 0xA0:
            {
                _position++;
                int end = PackageEnd();
                AmlNode predicate = Term(allowCall: true);
                List<AmlNode> body = TermList(end);
                List<AmlNode>? elseBody = null;
                if (_position < _ends.Peek() && _aml[_position] == 0xA1)
                {
                    _position++;
                    int elseEnd = PackageEnd();
                    elseBody = TermList(elseEnd);
                }

                return new AmlIf(predicate, body, elseBody);
            }

            case >= 0x60 and <= 0x67:
                _position++;
                return new AmlLocal(op - 0x60);
            case >= 0x68 and <= 0x6E:
                _position++;
                return new AmlArgument(op - 0x68);
            case 0x5B:
                return ExtendedTerm();
            default:
                if (s_operandCounts.TryGetValue(op, out int operands))
                {
                    _position++;
                    var args = new AmlNode[operands];
                    for (int i = 0; i < operands; i++)
                    {
                        bool declaresName = op is 0x8A or 0x8B or 0x8C && i == operands - 1;
                        args[i] = declaresName ? new AmlNameReference(NameString()) : Term(allowCall: true);
                    }

                    return new AmlOperation((AmlOpcode)op, args);
                }

                if (IsNameStart(op))
                {
                    string path = NameString();
                    if (allowCall && _methods.TryGetValue(LastSegment(path), out int argumentCount))
                    {
                        var arguments = new List<AmlNode>();
                        for (int i = 0; i < argumentCount; i++)
                        {
                            arguments.Add(Term(allowCall: true));
                        }

                        return new AmlCall(path, arguments);
                    }

                    return new AmlNameReference(path);
                }

                throw new InvalidDataException($"Unknown AML opcode 0x{op:X2} at {_position}.");
        }
    }

    private AmlNode ExtendedTerm()
    {
        byte op = _aml[_position + 1];
        _position += 2;
        switch (op)
        {
            case 0x80:
            {
                string name = NameString();
                var space = (AmlRegionSpace)_aml[_position++];
                AmlNode offset = Term(allowCall: true);
                AmlNode length = Term(allowCall: true);
                return new AmlOperationRegion(name, space, offset, length);
            }

            case 0x81:
            {
                int end = PackageEnd();
                string region = NameString();
                byte flags = _aml[_position++];
                var units = new List<AmlFieldUnit>();
                while (_position < end)
                {
                    string? name = null;
                    if (_aml[_position] == 0x00)
                    {
                        _position++;
                    }
                    else
                    {
                        name = Encoding.ASCII.GetString(_aml, _position, 4);
                        _position += 4;
                    }

                    (int bits, int size) = DecodePackageLength(_aml, _position);
                    _position += size;
                    units.Add(new AmlFieldUnit(name, bits));
                }

                return new AmlField(region, (AmlFieldAccess)(flags & 0x0F), (AmlFieldUpdate)((flags >> 5) & 3), units);
            }

            case 0x82:
            {
                int end = PackageEnd();
                string name = NameString();
                return new AmlDevice(name, TermList(end));
            }

            default:
                throw new InvalidDataException($"Unknown AML extended opcode 5B {op:X2} at {_position - 2}.");
        }
    }

    private static bool IsNameStart(byte b) => b is (byte)'\\' or (byte)'^' or (byte)'_' or 0x2E or 0x2F or (>= (byte)'A' and <= (byte)'Z');

    private string NameString()
    {
        var prefix = new StringBuilder();
        if (_aml[_position] == '\\')
        {
            prefix.Append('\\');
            _position++;
        }
        else
        {
            while (_aml[_position] == '^')
            {
                prefix.Append('^');
                _position++;
            }
        }

        int count;
        switch (_aml[_position])
        {
            case 0x00:
                _position++;
                count = 0;
                break;
            case 0x2E:
                _position++;
                count = 2;
                break;
            case 0x2F:
                count = _aml[_position + 1];
                _position += 2;
                break;
            default:
                count = 1;
                break;
        }

        var segments = new string[count];
        for (int i = 0; i < count; i++)
        {
            segments[i] = Encoding.ASCII.GetString(_aml, _position, 4);
            _position += 4;
        }

        return prefix + string.Join('.', segments);
    }

    private static string LastSegment(string path) => path.TrimStart('\\', '^').Split('.')[^1];
}
